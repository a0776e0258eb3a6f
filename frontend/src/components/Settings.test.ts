// Settings, the model panel and first-run dialog, Voices and the App shell against a fake Go side
// (window.go is the app's one seam to the backend).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { get } from "svelte/store";
import Settings from "./Settings.svelte";
import ModelPanel from "./ModelPanel.svelte";
import Voices from "./Voices.svelte";
import StatusBar from "./StatusBar.svelte";
import App from "../App.svelte";
import { preferences, modelTask, notices, view, status, instances, throughput, firstRunDismissed, voices, playback, savePreferences } from "../lib/stores";
import { locale } from "../lib/i18n";
import type { Preferences, Status } from "../lib/backend";

const baseStatus: Status = { version: "t", provider: "cpu", ortVersion: "1.29.0", synthesizing: true, instances: 2,
  instancesReason: "2 instance(s) on CPU", modelInstalled: true, dataDir: "/d" };

function fakeGo(over: Record<string, unknown> = {}) {
  let prefs: Preferences = { language: "vi", theme: "dark", outputDir: "", provider: "auto", instances: "default", voice: "" };
  const app = {
    Status: vi.fn(async () => baseStatus),
    Jobs: vi.fn(async () => []),
    Instances: vi.fn(async () => ["idle", "busy"]),
    Preferences: vi.fn(async () => prefs),
    SetPreferences: vi.fn(async (p: Preferences) => {
      if (p.instances === "99") throw new Error("instances \"99\" is not valid: use default, auto, or a number from 1 to 16");
      prefs = p;
    }),
    Device: vi.fn(async () => ({ providers: [{ name: "cuda", available: false, reason: "no GPU", fix: "install the CUDA 13 libraries",
      reasonCode: { code: "cuda-libraries-missing", params: { count: "3" }, text: "3 CUDA 13 / cuDNN 9 libraries cannot be loaded" },
      fixCode: { code: "cuda-libraries-fix-windows", text: "install the CUDA 13 libraries" } },
      { name: "cpu", available: true }], selected: "cpu", running: true, instances: 2, reason: "2 instance(s) on CPU: 2 cores",
      gpus: [{ name: "NVIDIA H100", freeBytes: 70 * 1024 ** 3, totalBytes: 80 * 1024 ** 3 }] })),
    Model: vi.fn(async () => ({ installed: false, dir: "/m/viet-tts", modelId: "", random: false, license: "", bytes: 0, graphs: 0, voices: 0 })),
    DownloadModel: vi.fn(async () => {}),
    InstallModelFrom: vi.fn(async () => "/tai-ve/viet-tts"),
    VerifyModel: vi.fn(async () => {}),
    RebuildModel: vi.fn(async () => {}),
    RemoveModelSource: vi.fn(async () => ({ installed: true, dir: "/m/viet-tts", modelId: "dangvansam/viet-tts", random: false,
      license: "CC-BY-NC-4.0", bytes: 1.2 * 1024 ** 3, graphs: 7, voices: 3, keptBytes: 0, keptDir: "/c/downloads/viet-tts" })),
    Voices: vi.fn(async () => [{ id: "lan", name: "Giọng Lan", builtIn: true, source: "", seconds: 3.2 },
      { id: "mai", name: "Mai Anh", builtIn: false, source: "mai.wav", seconds: 4 }]),
    PreviewVoice: vi.fn(async () => {}),
    AddVoice: vi.fn(async () => "/clips/mai.wav"),
    ChooseFolder: vi.fn(async () => "/sach-noi"),
    Pause: vi.fn(async () => {}),
    Resume: vi.fn(async () => {}),
    Skip: vi.fn(async (_delta: number) => {}),
    Stop: vi.fn(async () => {}),
    ...over,
  };
  window.go = { main: { App: app } } as unknown as Window["go"];
  return app;
}

beforeEach(() => {
  locale.set("vi");
  notices.set([]);
  modelTask.set(undefined);
  firstRunDismissed.set(false);
  preferences.set({ language: "vi", theme: "dark", outputDir: "", provider: "auto", instances: "default", voice: "" });
});
afterEach(() => { delete window.go; });

describe("the model panel", () => {
  it("asks to accept the CC BY-NC licence before downloading, then shows the progress", async () => {
    const app = fakeGo();
    render(ModelPanel);
    await waitFor(() => expect(app.Model).toHaveBeenCalled());
    expect(screen.getByRole("note").textContent).toContain("CC BY-NC 4.0");
    const download = screen.getByRole("button", { name: "Tải và cài đặt" }) as HTMLButtonElement;
    expect(download.disabled).toBe(true);
    await fireEvent.click(screen.getByRole("checkbox"));
    expect(download.disabled).toBe(false);
    await fireEvent.click(download);
    expect(app.DownloadModel).toHaveBeenCalledOnce();
    modelTask.set({ stage: "download", what: "llm.pt", done: 0.42, finished: false });
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("42%"));
    expect(screen.getByRole("status").textContent).toContain("Đang tải llm.pt");
    expect((screen.getByRole("button", { name: "Cài từ thư mục…" }) as HTMLButtonElement).disabled).toBe(true);
  });
  it("describes an installed model and offers to verify it", async () => {
    const app = fakeGo({ Model: vi.fn(async () => ({ installed: true, dir: "/m", modelId: "dangvansam/viet-tts", random: false,
      license: "CC-BY-NC-4.0", bytes: 1.2 * 1024 ** 3, graphs: 7, voices: 3 })) });
    const { container } = render(ModelPanel);
    await waitFor(() => expect(container.textContent).toContain("dangvansam/viet-tts"));
    expect(container.textContent).toContain("1.2 GiB");
    await fireEvent.click(screen.getByRole("button", { name: "Kiểm tra tệp" }));
    expect(app.VerifyModel).toHaveBeenCalledOnce();
  });
});

const outdated = { installed: false, dir: "/m/viet-tts", modelId: "", random: false, license: "", bytes: 0, graphs: 0, voices: 0,
  outdated: true, problem: "the installed model was built by an older version of VietTTS Studio and must be compiled again",
  keptDir: "/c/downloads/viet-tts" };

describe("the model panel after an update that changed the model format", () => {
  it("says the model was built by an older version and rebuilds it from the kept download without the licence step", async () => {
    const app = fakeGo({ Model: vi.fn(async () => ({ ...outdated, canRebuild: true, sourceDir: "/c/downloads/viet-tts",
      sourceDownloaded: true, keptBytes: 1.7 * 1024 ** 3 })) });
    const { container } = render(ModelPanel);
    await waitFor(() => expect(screen.getByTestId("outdated").textContent).toContain("phiên bản cũ hơn của ứng dụng"));
    expect(container.textContent).toContain("Bản tải về của mô hình vẫn còn trên máy: dựng lại mất vài phút và không cần tải lại");
    expect(container.textContent).not.toContain("Chưa cài mô hình");
    const rebuild = screen.getByRole("button", { name: "Dựng lại (không cần tải)" }) as HTMLButtonElement;
    expect(rebuild.disabled).toBe(false);
    expect((screen.getByRole("button", { name: "Tải và cài đặt" }) as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(rebuild);
    expect(app.RebuildModel).toHaveBeenCalledOnce();
    expect(app.DownloadModel).not.toHaveBeenCalled();
    // the rebuild reports like an install: the compile steps with their progress
    modelTask.set({ stage: "compile", what: "llm_decode", done: 0.5, finished: false });
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("50%"));
    expect(screen.getByRole("status").textContent).toContain("Đang cài đặt llm_decode");
    expect(rebuild.disabled).toBe(true);
  });
  it("rebuilds from the user's folder of the last install, and says it is that folder", async () => {
    const app = fakeGo({ Model: vi.fn(async () => ({ ...outdated, canRebuild: true, sourceDir: "/sach/viet-tts", sourceDownloaded: false, keptBytes: 0 })) });
    const { container } = render(ModelPanel);
    await waitFor(() => expect(screen.getByTestId("outdated")).toBeTruthy());
    expect(container.textContent).toContain("Thư mục bạn đã dùng để cài mô hình vẫn còn đủ tệp");
    expect(container.textContent).not.toContain("Bản tải về của mô hình vẫn còn");
    expect(screen.getByTestId("folder-source").textContent).toContain("/sach/viet-tts");
    await fireEvent.click(screen.getByRole("button", { name: "Dựng lại (không cần tải)" }));
    expect(app.RebuildModel).toHaveBeenCalledOnce();
  });
  it("asks for a new download when no checkpoint is kept, and says why", async () => {
    const app = fakeGo({ Model: vi.fn(async () => ({ ...outdated, canRebuild: false, keptBytes: 0,
      sourceDir: "/sach/viet-tts", sourceDownloaded: false,
      sourceProblem: "the folder /sach/viet-tts the model was installed from is incomplete: flow.pt is missing" })) });
    const { container } = render(ModelPanel);
    await waitFor(() => expect(screen.getByTestId("outdated")).toBeTruthy());
    expect(container.textContent).toContain("cần tải lại mô hình (khoảng 2,3 GB)");
    expect(container.textContent).toContain("flow.pt is missing");
    expect(screen.queryByRole("button", { name: "Dựng lại (không cần tải)" })).toBeNull();
    expect(screen.queryByTestId("kept")).toBeNull();
    await fireEvent.click(screen.getByRole("checkbox"));
    await fireEvent.click(screen.getByRole("button", { name: "Tải và cài đặt" }));
    expect(app.DownloadModel).toHaveBeenCalledOnce();
    expect(app.RebuildModel).not.toHaveBeenCalled();
  });
  it("says it in English too", async () => {
    locale.set("en");
    fakeGo({ Model: vi.fn(async () => ({ ...outdated, canRebuild: true, sourceDir: "/c/downloads/viet-tts", sourceDownloaded: true, keptBytes: 1024 ** 3 })) });
    render(ModelPanel);
    await waitFor(() => expect(screen.getByTestId("outdated").textContent).toContain("built by an older version of the app"));
    expect(screen.getByRole("button", { name: "Rebuild (no download)" })).toBeTruthy();
    expect(screen.getByTestId("kept").textContent).toContain("1.0 GiB");
  });
});

describe("the kept download", () => {
  const installed = { installed: true, dir: "/m/viet-tts", modelId: "dangvansam/viet-tts", random: false, license: "CC-BY-NC-4.0",
    bytes: 1.2 * 1024 ** 3, graphs: 7, voices: 3, canRebuild: true, sourceDir: "/c/downloads/viet-tts", sourceDownloaded: true,
    keptDir: "/c/downloads/viet-tts", keptBytes: 1.7 * 1024 ** 3 };
  it("shows its size and what removing it means, and removes it only once confirmed", async () => {
    const app = fakeGo({ Model: vi.fn(async () => installed) });
    render(ModelPanel);
    await waitFor(() => expect(screen.getByTestId("kept").textContent).toContain("1.7 GiB"));
    const kept = screen.getByTestId("kept");
    expect(kept.textContent).toContain("/c/downloads/viet-tts");
    expect(kept.textContent).toContain("có thể cần tải lại mô hình");
    await fireEvent.click(screen.getByRole("button", { name: "Xoá bản tải về…" }));
    expect(app.RemoveModelSource).not.toHaveBeenCalled();
    expect(kept.textContent).toContain("Xoá 1.7 GiB?");
    await fireEvent.click(screen.getByRole("button", { name: "Giữ lại" }));
    expect(app.RemoveModelSource).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByRole("button", { name: "Xoá bản tải về…" }));
    await fireEvent.click(screen.getByRole("button", { name: "Xoá" }));
    expect(app.RemoveModelSource).toHaveBeenCalledOnce();
    await waitFor(() => expect(screen.queryByTestId("kept")).toBeNull());
    expect(get(notices).some((n) => n.text.includes("giải phóng 1.7 GiB"))).toBe(true);
  });
  it("shows the backend's refusal and keeps the download on screen", async () => {
    fakeGo({ Model: vi.fn(async () => installed),
      RemoveModelSource: vi.fn(async () => { throw new Error("the model is already being downloaded, installed, rebuilt or verified: wait for it to finish"); }) });
    render(ModelPanel);
    await waitFor(() => expect(screen.getByTestId("kept")).toBeTruthy());
    await fireEvent.click(screen.getByRole("button", { name: "Xoá bản tải về…" }));
    await fireEvent.click(screen.getByRole("button", { name: "Xoá" }));
    await waitFor(() => expect(get(notices).some((n) => n.text.includes("wait for it to finish"))).toBe(true));
    expect(screen.getByTestId("kept").textContent).toContain("1.7 GiB");
  });
  it("names the user's own folder as the source of a folder install, with nothing to remove", async () => {
    fakeGo({ Model: vi.fn(async () => ({ ...installed, sourceDir: "/sach/viet-tts", sourceDownloaded: false, keptBytes: 0 })) });
    render(ModelPanel);
    await waitFor(() => expect(screen.getByTestId("folder-source").textContent).toContain("/sach/viet-tts"));
    expect(screen.queryByRole("button", { name: "Xoá bản tải về…" })).toBeNull();
  });
});

describe("settings", () => {
  it("show the effective instance count with its reason, the providers and free VRAM", async () => {
    fakeGo();
    const { container } = render(Settings);
    await waitFor(() => expect(container.querySelector("[data-testid=effective]")?.textContent).toContain("Đang chạy 2 phiên bản"));
    expect(container.textContent).toContain("2 instance(s) on CPU: 2 cores");
    expect(container.textContent).toContain("NVIDIA H100: còn trống 70.0 GiB / 80.0 GiB");
    // why CUDA cannot run and what to do, in Vietnamese from their codes
    expect(container.textContent).toContain("không nạp được 3 thư viện CUDA 13 / cuDNN 9");
    expect(container.textContent).toContain("hãy cài CUDA 13 runtime và cuDNN 9");
    const cuda = [...container.querySelectorAll("option")].find((o) => o.value === "cuda") as HTMLOptionElement;
    expect(cuda.disabled).toBe(true);
  });
  it("say why in Vietnamese when the reason comes with a code", async () => {
    const device = { providers: [{ name: "cpu", available: true }], selected: "cpu", running: true, instances: 3,
      reason: "3 instance(s), as set (cpu)", reasonCode: { code: "as-set", params: { n: "3", provider: "cpu" }, text: "3 instance(s), as set (cpu)" },
      gpus: [] };
    fakeGo({ Device: vi.fn(async () => device) });
    const { container } = render(Settings);
    await waitFor(() => expect(screen.getByTestId("effective").textContent).toContain("3 phiên bản, theo cài đặt (CPU)"));
    expect(container.textContent).not.toContain("as set");
  });
  it("store a change of theme and language and apply it", async () => {
    const app = fakeGo();
    render(Settings);
    await fireEvent.change(screen.getByLabelText("Giao diện"), { target: { value: "light" } });
    await waitFor(() => expect(app.SetPreferences).toHaveBeenCalledWith(expect.objectContaining({ theme: "light" })));
    expect(get(preferences).theme).toBe("light");
    await fireEvent.change(screen.getByLabelText("Ngôn ngữ"), { target: { value: "en" } });
    await waitFor(() => expect(get(locale)).toBe("en"));
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("Settings");
  });
  it("keep the old settings and show the backend's reason when a value is refused", async () => {
    fakeGo();
    render(Settings);
    await waitFor(() => expect(screen.getByTestId("effective").textContent).toContain("2"));
    await fireEvent.change(screen.getByLabelText("Số phiên bản"), { target: { value: "count" } });
    // a fixed number starts at the count running now
    await waitFor(() => expect(get(preferences).instances).toBe("2"));
    await fireEvent.change(screen.getByLabelText("Số cố định"), { target: { value: "99" } });
    await waitFor(() => expect(get(notices).some((n) => n.text.includes("not valid"))).toBe(true));
    expect(get(preferences).instances).toBe("2");
  });
});

describe("voices", () => {
  it("list built-in and cloned voices, preview one, and add one from a clip", async () => {
    const app = fakeGo();
    const { container } = render(Voices);
    await waitFor(() => expect(container.querySelectorAll("[data-voice]").length).toBe(2));
    expect(container.querySelector("[data-voice=lan]")?.textContent).toContain("Có sẵn");
    expect(container.querySelector("[data-voice=mai]")?.textContent).toContain("Nhân bản từ mai.wav");
    await fireEvent.click(screen.getByRole("button", { name: "Nghe thử giọng Mai Anh" }));
    expect(app.PreviewVoice).toHaveBeenCalledWith("mai");
    await fireEvent.input(screen.getByLabelText("Tên giọng"), { target: { value: "Bà ngoại" } });
    await fireEvent.click(screen.getByRole("button", { name: "Chọn đoạn ghi âm…" }));
    expect(app.AddVoice).toHaveBeenCalledWith("Bà ngoại", "");
    await waitFor(() => expect(get(notices).some((n) => n.text.includes("/clips/mai.wav"))).toBe(true));
    voices.set([]);
  });
});

describe("the status bar", () => {
  it("shows busy and idle instances and the throughput", () => {
    instances.set(new Map([[0, "busy"], [1, "busy"], [2, "idle"]]));
    throughput.set(2.54);
    render(StatusBar, { props: { status: { ...baseStatus, instances: 3 } } });
    const text = screen.getByRole("status").textContent ?? "";
    expect(text).toContain("2 đang đọc");
    expect(text).toContain("1 rảnh");
    expect(text).toContain("2.5× thời gian thực");
    instances.set(new Map());
    throughput.set(0);
  });
});

describe("the app shell", () => {
  it("opens the first-run dialog when no model is installed, and switches views with Alt+1…4", async () => {
    fakeGo({ Status: vi.fn(async () => ({ ...baseStatus, synthesizing: false, modelInstalled: false })) });
    render(App);
    const dialog = await screen.findByRole("dialog");
    expect(dialog.textContent).toContain("Chào mừng");
    expect(dialog.textContent).toContain("CC BY-NC");
    await fireEvent.click(screen.getByRole("button", { name: "Để sau" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    await fireEvent.keyDown(window, { key: "4", altKey: true });
    expect(get(view)).toBe("settings");
    await fireEvent.keyDown(window, { key: "3", altKey: true });
    expect(get(view)).toBe("voices");
    await fireEvent.keyDown(window, { key: "1", altKey: true });
    expect(get(view)).toBe("queue");
    status.set(undefined);
  });
  it("maps Space, the arrows and Esc to the player while a document plays", async () => {
    const app = fakeGo();
    render(App);
    await fireEvent.keyDown(window, { key: "ArrowLeft", code: "ArrowLeft" });
    expect(app.Skip).not.toHaveBeenCalled(); // nothing plays
    playback.set({ playing: true, paused: false, waiting: false, segmentId: 7, offset: 0, rate: 1, volume: 1 });
    await fireEvent.keyDown(window, { key: " ", code: "Space" });
    expect(app.Pause).toHaveBeenCalledOnce();
    await fireEvent.keyDown(window, { key: "ArrowLeft", code: "ArrowLeft" });
    await fireEvent.keyDown(window, { key: "ArrowRight", code: "ArrowRight" });
    expect(app.Skip.mock.calls).toEqual([[-1], [1]]);
    await fireEvent.keyDown(window, { key: "Escape", code: "Escape" });
    expect(app.Stop).toHaveBeenCalledOnce();
    playback.set({ playing: false, paused: false, waiting: false, segmentId: 0, offset: 0, rate: 1, volume: 1 });
  });
});

describe("a refused model operation", () => {
  it("clears the progress and says why", async () => {
    fakeGo({ DownloadModel: vi.fn(async () => { throw new Error("the model is already being downloaded, installed or verified: wait for it to finish"); }) });
    render(ModelPanel);
    await fireEvent.click(screen.getByRole("checkbox"));
    await fireEvent.click(screen.getByRole("button", { name: "Tải và cài đặt" }));
    await waitFor(() => expect(get(notices).some((n) => n.text.includes("already being downloaded"))).toBe(true));
    expect(get(modelTask)).toBeUndefined();
  });
});

describe("settings changes", () => {
  it("reach the backend one after another, in the order they were made", async () => {
    const seen: string[] = [];
    fakeGo({
      SetPreferences: vi.fn(async (p: Preferences) => {
        // the first change is slow to store: the second must still come after it
        if (p.instances === "2") await new Promise((r) => setTimeout(r, 50));
        seen.push(p.instances);
      }),
    });
    const first = savePreferences({ instances: "2" });
    const second = savePreferences({ instances: "1" });
    expect(await first).toBe(true);
    expect(await second).toBe(true);
    expect(seen).toEqual(["2", "1"]);
    expect(get(preferences).instances).toBe("1");
  });
});
