// Locale strings: Vietnamese first, English second. Every visible string goes through t().
import { derived, writable } from "svelte/store";
import vi from "../locales/vi.json";
import en from "../locales/en.json";

export type Locale = "vi" | "en";
const tables: Record<Locale, Record<string, string>> = { vi, en };

export const locale = writable<Locale>("vi");

/** translate returns the string for key in loc (falling back to Vietnamese, then the key), with
 * {name} placeholders filled from vars. */
export function translate(loc: Locale, key: string, vars?: Record<string, string | number>): string {
  let s = tables[loc][key] ?? tables.vi[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** t is a store of the translate function for the current locale. */
export const t = derived(locale, (loc) => (key: string, vars?: Record<string, string | number>) => translate(loc, key, vars));

/** ReasonCode is a backend reason as a code with parameters, beside its English text. */
export interface ReasonCode { code: string; params?: Record<string, string> | null; text: string }

/** explainIn renders a backend reason in loc: its code through the locale's "reason.<code>" string
 * (the provider it names, if any, in brackets after it); an unknown code or none falls back to the
 * English text, or to fallback. */
export function explainIn(loc: Locale, r: ReasonCode | undefined | null, fallback = ""): string {
  const key = r?.code ? `reason.${r.code}` : "";
  if (!r || !key || !(key in tables[loc])) return r?.text || fallback;
  const { provider, ...vars } = r.params ?? {};
  const s = translate(loc, key, vars);
  return provider ? `${s} (${provider.toUpperCase()})` : s;
}

/** explain is a store of explainIn for the current locale. */
export const explain = derived(locale, (loc) => (r: ReasonCode | undefined | null, fallback = "") => explainIn(loc, r, fallback));

/** missingKeys lists keys present in one locale and absent in the other. */
export function missingKeys(): string[] {
  const a = Object.keys(vi), b = Object.keys(en);
  return [...a.filter((k) => !(k in en)), ...b.filter((k) => !(k in vi))];
}
