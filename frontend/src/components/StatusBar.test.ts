import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/svelte";
import StatusBar from "./StatusBar.svelte";

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
});
