import { describe, expect, it } from "vitest";
import { get } from "svelte/store";
import { locale, missingKeys, t, translate } from "./i18n";

describe("locales", () => {
  it("has the same keys in Vietnamese and English", () => {
    expect(missingKeys()).toEqual([]);
  });
  it("speaks Vietnamese first and switches to English", () => {
    locale.set("vi");
    expect(get(t)("queue.title")).toBe("Hàng đợi");
    locale.set("en");
    expect(get(t)("queue.title")).toBe("Queue");
    locale.set("vi");
  });
  it("falls back to the key for an unknown string", () => {
    expect(translate("en", "no.such.key")).toBe("no.such.key");
  });
  it("keeps Vietnamese strings NFC-normalized", async () => {
    const vi = (await import("../locales/vi.json")).default as Record<string, string>;
    for (const [k, v] of Object.entries(vi)) expect(v.normalize("NFC"), k).toBe(v);
  });
});
