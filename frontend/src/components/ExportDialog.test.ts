// The export dialog against a fake Go side (window.go): a disabled format says why in the window's
// language, from the code the backend sends beside its English text.
import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import ExportDialog from "./ExportDialog.svelte";
import { locale } from "../lib/i18n";
import type { FormatInfo } from "../lib/backend";

const formats: FormatInfo[] = [
  { Format: "wav", Name: "WAV (16-bit PCM)", Ext: ".wav", Lossy: false, Chapters: false, Available: true, Reason: "", DefaultBitrate: 0 },
  { Format: "mp3", Name: "MP3 (CBR, ID3 chapters)", Ext: ".mp3", Lossy: true, Chapters: true, Available: false, DefaultBitrate: 128,
    Reason: "this build has no built-in MP3 encoder, so MP3 needs ffmpeg with the libmp3lame encoder, which the ffmpeg at C:\\ff.exe lacks",
    Why: { code: "mp3-ffmpeg-no-lame", params: { path: "C:\\ff.exe" }, text: "…" } },
  { Format: "opus", Name: "Opus in Ogg", Ext: ".opus", Lossy: true, Chapters: true, Available: false, DefaultBitrate: 48,
    Reason: "an English reason from a newer backend", Why: { code: "from-the-future", text: "an English reason from a newer backend" } },
];

function fakeGo() {
  const app = { ExportFormats: vi.fn(async () => formats), Export: vi.fn(async () => []) };
  window.go = { main: { App: app } } as unknown as Window["go"];
}

afterEach(() => { delete window.go; locale.set("vi"); });

describe("ExportDialog", () => {
  it("says in Vietnamese why MP3 is disabled, naming the ffmpeg it found", async () => {
    locale.set("vi");
    fakeGo();
    render(ExportDialog, { props: { projectId: 1, title: "Sách", onclose: () => {} } });
    await waitFor(() => expect(screen.getByText(/không có libmp3lame/)).toBeTruthy());
    expect(screen.getByText(/không có libmp3lame/).textContent).toContain("C:\\ff.exe");
  });
  it("falls back to the English text for a code it does not know", async () => {
    locale.set("vi");
    fakeGo();
    const { container } = render(ExportDialog, { props: { projectId: 1, title: "Sách", onclose: () => {} } });
    const select = await waitFor(() => {
      const s = container.querySelector('select[name="format"]') as HTMLSelectElement;
      expect(s.options.length).toBe(3);
      return s;
    });
    // The disabled option's tooltip is the English text; the known code's is Vietnamese.
    expect(select.options[1].title).toContain("không có libmp3lame");
    expect(select.options[2].title).toBe("an English reason from a newer backend");
  });
});
