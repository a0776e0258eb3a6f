import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/svelte";
import StatusBar from "./StatusBar.svelte";
import { locale } from "../lib/i18n";

describe("StatusBar", () => {
  it("says the backend is not connected when there is no status", () => {
    render(StatusBar, { props: { status: undefined } });
    expect(screen.getByRole("status").textContent).toContain("Chưa kết nối backend");
  });
  it("shows the provider, instances with their reason, and the versions", () => {
    render(StatusBar, {
      props: {
        status: { version: "0.1.0", provider: "cpu", ortVersion: "1.29.0", synthesizing: true, instances: 1,
          instancesReason: "CPU: 2 cores", modelInstalled: false, dataDir: "/x" },
      },
    });
    const text = screen.getByRole("status").textContent ?? "";
    expect(text).toContain("CPU");
    expect(text).toContain("CPU: 2 cores");
    expect(text).toContain("1.29.0");
    expect(text).toContain("Chưa cài mô hình");
  });
  it("says synthesis is off, and why, when the installed model does not run", () => {
    render(StatusBar, {
      props: {
        status: { version: "0.1.0", provider: "cpu", ortVersion: "1.29.0", synthesizing: false, instances: 0,
          instancesReason: "the cuda provider cannot run here", modelInstalled: true, dataDir: "/x" },
      },
    });
    const text = screen.getByRole("status").textContent ?? "";
    expect(text).toContain("Chưa tổng hợp được");
    expect(text).toContain("the cuda provider cannot run here");
  });
  it("says reading is paused by a full disk, and where to free space", () => {
    render(StatusBar, {
      props: {
        status: { version: "0.1.0", provider: "cuda", ortVersion: "1.29.0", synthesizing: true, instances: 2,
          instancesReason: "2 instances", modelInstalled: true, dataDir: "/x", storageFull: true, renderDir: "/data/renders" },
      },
    });
    const warn = screen.getByRole("alert");
    expect(warn.textContent).toContain("Đĩa đầy");
    expect(warn.getAttribute("title")).toContain("/data/renders");
  });
  it("shows no disk warning while there is space", () => {
    render(StatusBar, {
      props: {
        status: { version: "0.1.0", provider: "cpu", ortVersion: "1.29.0", synthesizing: true, instances: 1,
          instancesReason: "1 instance", modelInstalled: true, dataDir: "/x", storageFull: false, renderDir: "/data/renders" },
      },
    });
    expect(screen.queryByRole("alert")).toBeNull();
  });
  it("says only that no model is installed when there is none", () => {
    render(StatusBar, {
      props: {
        status: { version: "0.1.0", provider: "cpu", ortVersion: "1.29.0", synthesizing: false, instances: 0,
          instancesReason: "no model is installed: install one", modelInstalled: false, dataDir: "/x" },
      },
    });
    const text = screen.getByRole("status").textContent ?? "";
    expect(text).toContain("Chưa cài mô hình");
    expect(text).not.toContain("install one");
  });
  it("says why there are that many instances in the window's language, from the reason's code", () => {
    const status = { version: "0.1.0", provider: "cpu", ortVersion: "1.29.0", synthesizing: true, instances: 2,
      instancesReason: "2 instance(s) on CPU: 16 cores, 4 threads each (cpu)", modelInstalled: true, dataDir: "/x",
      instancesReasonCode: { code: "cpu-default", params: { n: "2", cores: "16", threads: "4", provider: "cpu" },
        text: "2 instance(s) on CPU: 16 cores, 4 threads each (cpu)" } };
    locale.set("vi");
    const vi = render(StatusBar, { props: { status } });
    expect(screen.getByRole("status").textContent).toContain("2 phiên bản trên CPU: 16 nhân, mỗi phiên bản 4 luồng (CPU)");
    expect(screen.getByRole("status").textContent).not.toContain("cores");
    vi.unmount();
    locale.set("en");
    render(StatusBar, { props: { status } });
    expect(screen.getByRole("status").textContent).toContain("2 instance(s) on CPU: 16 cores, 4 threads each (CPU)");
    locale.set("vi");
  });
  it("shows the English text of a reason whose code it does not know", () => {
    render(StatusBar, {
      props: {
        status: { version: "0.1.0", provider: "cpu", ortVersion: "1.29.0", synthesizing: true, instances: 1, modelInstalled: true,
          dataDir: "/x", instancesReason: "a reason from a newer backend",
          instancesReasonCode: { code: "from-the-future", params: { n: "1" }, text: "a reason from a newer backend" } },
      },
    });
    expect(screen.getByRole("status").textContent).toContain("(a reason from a newer backend)");
  });
});
