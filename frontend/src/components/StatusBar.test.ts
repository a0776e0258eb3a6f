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
  it("says synthesis is off, and why, when no model runs", () => {
    render(StatusBar, {
      props: {
        status: { version: "0.1.0", provider: "cpu", ortVersion: "1.29.0", synthesizing: false, instances: 0,
          instancesReason: "no model is installed", modelInstalled: false, dataDir: "/x" },
      },
    });
    const text = screen.getByRole("status").textContent ?? "";
    expect(text).toContain("Chưa tổng hợp được");
    expect(text).toContain("no model is installed");
  });
});
