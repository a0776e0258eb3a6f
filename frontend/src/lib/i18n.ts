// Locale strings: Vietnamese first, English second. Every visible string goes through t().
import { derived, writable } from "svelte/store";
import vi from "../locales/vi.json";
import en from "../locales/en.json";

export type Locale = "vi" | "en";
const tables: Record<Locale, Record<string, string>> = { vi, en };

export const locale = writable<Locale>("vi");

/** translate returns the string for key in loc, falling back to Vietnamese, then to the key. */
export function translate(loc: Locale, key: string): string {
  return tables[loc][key] ?? tables.vi[key] ?? key;
}

/** t is a store of the translate function for the current locale. */
export const t = derived(locale, (loc) => (key: string) => translate(loc, key));

/** missingKeys lists keys present in one locale and absent in the other. */
export function missingKeys(): string[] {
  const a = Object.keys(vi), b = Object.keys(en);
  return [...a.filter((k) => !(k in en)), ...b.filter((k) => !(k in vi))];
}
