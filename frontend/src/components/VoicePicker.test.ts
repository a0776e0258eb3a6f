import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { get } from "svelte/store";
import VoicePicker from "./VoicePicker.svelte";
import DocumentView from "./DocumentView.svelte";
import { project, chapterId, segments, notices, voices } from "../lib/stores";
import { locale } from "../lib/i18n";
import type { Project, Reading, Voice } from "../lib/backend";

const installed: Voice[] = [
  { id: "lan", name: "Giọng Lan", builtIn: true, source: "", seconds: 3 },
  { id: "mai", name: "Mai Anh", builtIn: false, source: "mai.wav", seconds: 4 },
];

/** reading builds what the backend reports from its parts: [voice, speed, segments]. */
function reading(...parts: [string, number, number][]): Reading {
  const voices: Record<string, number> = {};
  for (const [v, , n] of parts) voices[v] = (voices[v] ?? 0) + n;
  const one = <T,>(xs: T[]) => (new Set(xs).size === 1 ? xs[0] : undefined);
  return { voice: one(parts.map((p) => p[0])) ?? "", speed: one(parts.map((p) => p[1])) ?? 0, voices,
    segments: parts.reduce((n, p) => n + p[2], 0), parts: parts.map(([voice, speed, segments]) => ({ voice, speed, segments })) };
}
const mixed = reading(["lan", 1, 5], ["mai", 1, 2]);

beforeEach(() => { locale.set("vi"); notices.set([]); });

describe("the voice picker", () => {
  it("shows the current voice and speed, or that the sentences read with several", () => {
    const one = render(VoicePicker, { props: { scope: "chapter", label: "Giọng chương này", voices: installed,
      reading: reading(["mai", 1.1, 3]), onapply: vi.fn() } });
    const select = screen.getByLabelText("Giọng chương này") as HTMLSelectElement;
    expect(select.value).toBe("mai");
    expect(select.selectedOptions[0].textContent).toBe("Mai Anh");
    expect((screen.getByLabelText("Tốc độ — Giọng chương này") as HTMLSelectElement).selectedOptions[0].textContent).toBe("1.1×");
    one.unmount();
    render(VoicePicker, { props: { scope: "document", label: "Giọng cả tài liệu", voices: installed,
      reading: reading(["lan", 1, 5], ["mai", 1.25, 2]), onapply: vi.fn() } });
    expect((screen.getByLabelText("Giọng cả tài liệu") as HTMLSelectElement).selectedOptions[0].textContent).toBe("Nhiều giọng");
    expect((screen.getByLabelText("Tốc độ — Giọng cả tài liệu") as HTMLSelectElement).selectedOptions[0].textContent).toBe("Nhiều giọng");
  });

  it("asks before changing the voice, saying how many sentences are read again, and applies only when confirmed", async () => {
    const onapply = vi.fn(async () => {});
    render(VoicePicker, { props: { scope: "document", label: "Giọng cả tài liệu", voices: installed, reading: mixed, onapply } });
    const select = screen.getByLabelText("Giọng cả tài liệu") as HTMLSelectElement;
    await fireEvent.change(select, { target: { value: "mai" } });
    // 7 sentences, 2 already read with Mai Anh: 5 are read again
    expect(screen.getByRole("group").textContent).toContain("Đọc lại 5 câu bằng giọng Mai Anh?");
    await fireEvent.click(screen.getByText("Bỏ"));
    expect(screen.queryByRole("group")).toBeNull();
    expect(onapply).not.toHaveBeenCalled();
    expect(select.value).toBe("");

    await fireEvent.change(select, { target: { value: "lan" } });
    expect(screen.getByRole("group").textContent).toContain("Đọc lại 2 câu bằng giọng Giọng Lan?");
    await fireEvent.click(screen.getByText("Đổi giọng"));
    expect(onapply).toHaveBeenCalledWith("lan", 0);
    await waitFor(() => expect(screen.queryByRole("group")).toBeNull());
  });

  it("counts a speed change alone, and with a voice, over the sentences that read differently", async () => {
    const onapply = vi.fn(async () => {});
    render(VoicePicker, { props: { scope: "document", label: "Giọng cả tài liệu", voices: installed,
      reading: reading(["lan", 1, 5], ["mai", 1, 2], ["mai", 1.25, 3]), onapply } });
    await fireEvent.change(screen.getByLabelText("Tốc độ — Giọng cả tài liệu"), { target: { value: "1.25" } });
    expect(screen.getByRole("group").textContent).toContain("Đọc lại 7 câu ở tốc độ 1.25×?");
    await fireEvent.change(screen.getByLabelText("Giọng cả tài liệu"), { target: { value: "mai" } });
    expect(screen.getByRole("group").textContent).toContain("Đọc lại 7 câu bằng giọng Mai Anh, tốc độ 1.25×?");
    await fireEvent.click(screen.getByText("Đổi giọng"));
    expect(onapply).toHaveBeenCalledWith("mai", 1.25);
  });

  it("offers a voice the sentences read with even when it is no longer installed, in English too", async () => {
    locale.set("en");
    render(VoicePicker, { props: { scope: "chapter", label: "Voice of this chapter", voices: installed,
      reading: reading(["cu", 1, 4]), onapply: vi.fn() } });
    const select = screen.getByLabelText("Voice of this chapter") as HTMLSelectElement;
    expect(select.value).toBe("cu");
    await fireEvent.change(select, { target: { value: "mai" } });
    expect(screen.getByRole("group").textContent).toContain("Read 4 sentences again with Mai Anh?");
  });
});

describe("the document view's voice pickers", () => {
  afterEach(() => { delete window.go; project.set(undefined); segments.set([]); voices.set([]); });

  it("changes one chapter's voice and reloads the document and its sentences", async () => {
    const after: Project = { id: 9, title: "Mùa thu", source: "mua-thu.txt", format: "text",
      reading: reading(["lan", 1, 3], ["mai", 1, 2]),
      chapters: [{ id: 4, title: "Một", reading: reading(["mai", 1, 2]) }, { id: 5, title: "Hai", reading: reading(["lan", 1, 3]) }] };
    const app = {
      SetReading: vi.fn(async () => [1, 2]),
      Project: vi.fn(async () => after),
      Segments: vi.fn(async () => []),
    };
    window.go = { main: { App: app } } as unknown as Window["go"];
    voices.set(installed);
    project.set({ ...after, reading: reading(["lan", 1, 5]),
      chapters: [{ id: 4, title: "Một", reading: reading(["lan", 1, 2]) }, after.chapters[1]] });
    chapterId.set(4);
    render(DocumentView);
    const chapterPicker = screen.getByLabelText("Giọng chương này") as HTMLSelectElement;
    expect((screen.getByLabelText("Giọng cả tài liệu") as HTMLSelectElement).value).toBe("lan");
    await fireEvent.change(chapterPicker, { target: { value: "mai" } });
    expect(screen.getByRole("group").textContent).toContain("Đọc lại 2 câu");
    await fireEvent.click(screen.getByText("Đổi giọng"));
    await waitFor(() => expect(app.Segments).toHaveBeenCalledWith(4));
    expect(app.SetReading).toHaveBeenCalledWith(9, 4, "mai", 0);
    expect(get(notices).map((n) => n.text)).toContain("Đổi cách đọc: đọc lại 2 câu");
    await waitFor(() => expect((screen.getByLabelText("Giọng cả tài liệu") as HTMLSelectElement).selectedOptions[0].textContent).toBe("Nhiều giọng"));
    expect((screen.getByLabelText("Giọng chương này") as HTMLSelectElement).value).toBe("mai");
  });
});
