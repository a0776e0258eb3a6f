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

/** missingKeys lists keys present in one locale and absent in the other. */
export function missingKeys(): string[] {
  const a = Object.keys(vi), b = Object.keys(en);
  return [...a.filter((k) => !(k in en)), ...b.filter((k) => !(k in vi))];
}
