// The one module that talks to the Go side. Components never touch window.go or window.runtime:
// they call these typed functions and subscribe to typed events.

export interface Status {
  version: string;
  provider: string;
  ortVersion: string;
  instances: number;
  instancesReason: string;
  modelInstalled: boolean;
  dataDir: string;
}

type GoApp = {
  Status(): Promise<Status>;
  OpenFiles(): Promise<string[]>;
};

declare global {
  interface Window {
    go?: { main?: { App?: GoApp } };
    runtime?: {
      EventsOn(name: string, cb: (...args: unknown[]) => void): () => void;
      OnFileDrop?(cb: (x: number, y: number, paths: string[]) => void, useDropTarget: boolean): void;
    };
  }
}

function app(): GoApp | undefined {
  return window.go?.main?.App;
}

/** connected reports whether the page runs inside the app (or its dev server) with the Go backend. */
export function connected(): boolean {
  return app() !== undefined;
}

export async function status(): Promise<Status | undefined> {
  const a = app();
  return a ? a.Status() : undefined;
}

/** onEvent subscribes to a backend event; the returned function unsubscribes. */
export function onEvent<T>(name: string, cb: (payload: T) => void): () => void {
  if (!window.runtime) return () => {};
  return window.runtime.EventsOn(name, (p) => cb(p as T));
}

/** onFileDrop calls cb with the paths dropped on an element styled as a drop target. */
export function onFileDrop(cb: (paths: string[]) => void): void {
  window.runtime?.OnFileDrop?.((_x, _y, paths) => cb(paths), true);
}
