// End-to-end tests of VietTTS Studio in real Chromium (playwright-core driving Debian's chromium)
// against the app's dev server (the app built with the `dev` tag: the frontend and the Go bindings
// over a websocket), with the real Go backend on a tiny random-weight model. tools/e2e/run.sh
// prepares all that and runs this file:
//
//   node tools/e2e/e2e.mjs URL WORKDIR OUTDIR
//
// WORKDIR holds the documents to drop and the export folder; OUTDIR receives screenshots. The
// tests run in order on one page (each builds on the one before) and the last line is
// "e2e: N passed, N failed".
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(path.join(root, "frontend/package.json"))("playwright-core");
const [url = "http://localhost:34115", work = mkdtempSync(path.join(tmpdir(), "e2e-")), out = path.join(root, "test-artifacts/e2e")] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

// Two documents. "Hà Nội" is in some sentences of the first only: the lexicon test counts on it.
const docs = {
  "ha-noi.txt": "Mùa thu Hà Nội\n\nSáng nay trời se lạnh. Tôi đi dạo quanh hồ Gươm ở Hà Nội. Lá vàng rơi trên mặt nước. Hà Nội vào thu thật đẹp. Chiều về, phố xá đông vui.\n",
  "que-nha.txt": "Quê nhà\n\nQuê tôi có cánh đồng lúa xanh. Mẹ tôi nấu cơm chiều. Em bé chơi ngoài sân.\n",
};
const WORD = "Hà Nội", READING = "thủ đô Hà Nội";

const results = [];
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const expect = (ok, msg) => { if (!ok) throw new Error(msg); };

// a fresh profile each run (playwright passes it to chromium as --user-data-dir)
const browser = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "chromium-")), {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 820 },
});
const page = browser.pages()[0] ?? (await browser.newPage());
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));
const shot = (name) => page.screenshot({ path: path.join(out, name + ".png") });
const segmentsOf = (chapterId) => page.evaluate((id) => window.go.main.App.Segments(id), chapterId);

let paths = [];
let project; // the first document's project, as the backend sees it

test("the page loads with the Go backend connected", async () => {
  await page.goto(url);
  await page.waitForFunction(() => window.go?.main?.App !== undefined, null, { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector("footer")?.textContent?.includes("CPU"), null, { timeout: 30000 });
  const footer = await page.locator("footer").textContent();
  expect(/VietTTS/.test(footer), `status bar does not show the installed model: ${footer}`);
  expect((await page.locator("[role=dialog]").count()) === 0, "the first-run dialog shows although a model is installed");
});

test("two files dropped through Wails' drop path become two jobs that both reach done", async () => {
  paths = Object.entries(docs).map(([name, text]) => { const p = path.join(work, name); writeFileSync(p, text); return p; });
  await page.evaluate((p) => window.WailsInvoke("DD:640:400:" + p.join("\n")), paths);
  await page.waitForFunction(() => document.querySelectorAll("[data-job]").length === 2, null, { timeout: 30000 });
  await shot("queue-running");
  await page.waitForFunction(() => [...document.querySelectorAll("[data-job]")].every((c) => c.getAttribute("data-state") === "done"),
    null, { timeout: 240000 });
  const titles = await page.locator("[data-job] .title").allTextContents();
  expect(titles.some((t) => /ha-noi|Hà Nội/.test(t)) && titles.some((t) => /que-nha|Quê nhà/.test(t)), `job titles: ${titles}`);
  await shot("queue-done");
});

test("playing a sentence highlights it", async () => {
  const jobs = await page.evaluate(() => window.go.main.App.Jobs());
  const job = jobs.find((j) => /ha-noi|Hà Nội/.test(j.title));
  project = await page.evaluate((id) => window.go.main.App.Project(id), job.projectId);
  await page.locator(`[data-job="${job.id}"] [data-action=open]`).click();
  await page.waitForSelector("[data-segment]");
  const target = await page.locator("[data-segment]").nth(1).getAttribute("data-segment");
  // record every sentence that gets highlighted: a tiny model's sentence may be over in a moment
  await page.evaluate(() => {
    window.__highlighted = [];
    new MutationObserver((ms) => {
      for (const m of ms) {
        const el = m.target;
        if (el instanceof HTMLElement && el.classList?.contains("playing")) window.__highlighted.push(el.dataset.segment);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["class"], childList: true });
  });
  await page.locator(`[data-segment="${target}"] [data-action=play]`).click();
  await page.waitForFunction((id) => window.__highlighted.includes(id) || document.querySelector(`.seg.playing[data-segment="${id}"]`),
    target, { timeout: 30000 });
  await shot("document-playing");
  const first = await page.evaluate(() => window.__highlighted[0]);
  expect(first === undefined || first === target, `the first highlighted sentence was ${first}, not the one clicked (${target})`);
  await page.evaluate(() => window.go.main.App.Stop());
});

test("a lexicon entry re-renders only the sentences it changes", async () => {
  await page.locator("input[name=showSpoken]").check();
  const chapter = project.chapters[0].id;
  const before = await segmentsOf(chapter);
  const otherJob = (await page.evaluate(() => window.go.main.App.Jobs())).find((j) => j.projectId !== project.id);
  const otherProject = await page.evaluate((id) => window.go.main.App.Project(id), otherJob.projectId);
  const otherBefore = await segmentsOf(otherProject.chapters[0].id);
  const affected = before.filter((s) => s.source.includes(WORD)).map((s) => String(s.id));
  expect(affected.length > 0 && affected.length < before.length, `test document: ${affected.length} of ${before.length} sentences have ${WORD}`);
  // watch which sentences leave the done state
  await page.evaluate(() => {
    window.__rerendered = new Set();
    new MutationObserver((ms) => {
      for (const m of ms) {
        const el = m.target;
        if (el instanceof HTMLElement && el.dataset.segment && el.dataset.state !== "done") window.__rerendered.add(el.dataset.segment);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
  });
  await page.fill("input[name=lexWord]", WORD);
  await page.fill("input[name=lexSpoken]", READING);
  await page.press("input[name=lexSpoken]", "Enter");
  await page.waitForFunction((n) => [...document.querySelectorAll("[role=status]")].some((e) => e.textContent.includes(`Đọc lại ${n} câu`)),
    affected.length, { timeout: 15000 });
  // the affected sentences show the new reading and are rendered again; the others are untouched
  await page.waitForFunction(({ ids, reading }) => ids.every((id) => {
    const row = document.querySelector(`[data-segment="${id}"]`);
    return row && row.getAttribute("data-state") === "done" && row.querySelector(".spoken")?.textContent.includes(reading);
  }), { ids: affected, reading: READING }, { timeout: 120000 });
  const after = await segmentsOf(chapter);
  for (const s of after) {
    const old = before.find((b) => b.id === s.id);
    const changed = old.spoken !== s.spoken;
    expect(changed === affected.includes(String(s.id)), `sentence ${s.id} "${s.source}": spoken ${changed ? "changed" : "unchanged"}`);
    expect(s.state === "done", `sentence ${s.id} is ${s.state}`);
    if (!changed) expect(s.seconds === old.seconds, `unchanged sentence ${s.id} was rendered again (${old.seconds} s → ${s.seconds} s)`);
  }
  const rerendered = await page.evaluate(() => [...window.__rerendered]);
  for (const id of rerendered) expect(affected.includes(id), `sentence ${id} was re-rendered but does not contain ${WORD}`);
  const otherAfter = await segmentsOf(otherProject.chapters[0].id);
  expect(JSON.stringify(otherAfter) === JSON.stringify(otherBefore), "the other document changed");
  await shot("document-lexicon");
});

test("exporting an MP3 with a cover writes it to the output folder", async () => {
  const exportDir = path.join(work, "Sách nói");
  await page.keyboard.press("Alt+4");
  await page.fill("input[name=outputDir]", exportDir);
  await page.press("input[name=outputDir]", "Tab");
  await page.waitForFunction(() => document.querySelector("input[name=outputDir]")?.value !== "", null, { timeout: 10000 });
  expect((await page.evaluate(() => window.go.main.App.Preferences())).outputDir === exportDir, "the output folder was not saved");
  await shot("settings");
  await page.keyboard.press("Alt+2");
  await page.locator("[data-action=export]").click();
  await page.waitForFunction(() => [...document.querySelectorAll("select[name=format] option")].some((o) => o.value === "mp3"));
  await page.selectOption("select[name=format]", "mp3");
  // a 4×4 PNG in the app's accent colour as the cover art
  const cover = path.join(work, "bìa.png");
  writeFileSync(cover, Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR4nGPw37wSjhiI4wAAsJIasW+1ImYAAAAASUVORK5CYII=", "base64"));
  await page.fill("input[name=cover]", cover);
  await page.locator("[data-action=export-go]").click();
  await page.waitForFunction(() => [...document.querySelectorAll("[role=status]")].some((e) => e.textContent.includes("Đã xuất")),
    null, { timeout: 120000 });
  const files = readdirSync(exportDir).filter((f) => f.endsWith(".mp3"));
  expect(files.length === 1, `mp3 files in ${exportDir}: ${readdirSync(exportDir)}`);
  const file = path.join(exportDir, files[0]);
  const head = readFileSync(file).subarray(0, 3);
  expect(statSync(file).size > 1000, `${file} is only ${statSync(file).size} bytes`);
  expect(head.toString("latin1") === "ID3", `${file} does not start with an ID3 tag`);
  expect(readFileSync(file).includes(Buffer.from("APIC")), `${file} has no cover picture (APIC frame)`);
});

test("changing the instances setting restarts synthesis with the new count, live", async () => {
  await page.keyboard.press("Alt+4");
  await page.selectOption("select[aria-label='Số phiên bản']", "count");
  await page.fill("input[aria-label='Số cố định']", "1");
  await page.press("input[aria-label='Số cố định']", "Tab");
  await page.waitForFunction(() => document.querySelector("[data-testid=effective]")?.textContent.includes("Đang chạy 1 phiên bản"),
    null, { timeout: 60000 });
  await page.waitForFunction(() => /Phiên chạy:\s*1\b/.test(document.querySelector("footer").textContent), null, { timeout: 30000 });
  expect((await page.evaluate(() => window.go.main.App.Preferences())).instances === "1", "the setting was not stored");
  await shot("settings-instances");
  await page.keyboard.press("Alt+2");
});

// The audio of the whole document as a WAV, exported to WORKDIR/name.
const exportWav = async (name) => {
  const req = { projectId: project.id, format: "wav", bitrate: 0, split: "", subtitles: "", loudness: "", title: "", author: "",
    narrator: "", cover: "", out: path.join(work, name) };
  const paths = await page.evaluate((r) => window.go.main.App.Export(r), req);
  expect(paths?.length === 1, `export of ${name}: ${paths}`);
  return readFileSync(paths[0]);
};

test("a new take reads a sentence again another way, and going back gives the first take's audio", async () => {
  await page.keyboard.press("Alt+2");
  const chapter = project.chapters[0].id;
  const target = (await segmentsOf(chapter))[2];
  expect(target?.state === "done", `the third sentence is ${target?.state}`);
  const first = await exportWav("take-1.wav");
  await page.evaluate(() => { window.__takes = []; window.runtime.EventsOn("player", (e) => window.__takes.push(e)); });
  await page.locator(`[data-segment="${target.id}"] .text`).click(); // selects it (and plays from it)
  await page.waitForFunction((id) => document.querySelector(`[data-takes="${id}"]`)?.textContent.includes("Lần đọc 1/1"), target.id,
    { timeout: 10000 });
  await page.evaluate(() => window.go.main.App.Stop());
  await page.evaluate(() => { window.__takes = []; });
  await page.keyboard.press("t");
  await page.waitForFunction((id) => document.querySelector(`[data-takes="${id}"]`)?.textContent.includes("Lần đọc 2/2"), target.id,
    { timeout: 10000 });
  // rendered, then played by itself, as the selected sentence
  await page.waitForFunction((id) => window.__takes.some((e) => e.kind === "segment" && e.segmentId === id), target.id, { timeout: 60000 });
  await page.evaluate(() => window.go.main.App.Stop());
  const after = await segmentsOf(chapter);
  expect(after.every((s) => s.state === "done"), `sentences after the new take: ${after.map((s) => s.state)}`);
  const second = await exportWav("take-2.wav");
  expect(!second.equals(first), "the document sounds the same with the new take of one sentence");
  await shot("document-takes");
  await page.locator(`[data-takes="${target.id}"] [data-action=prev-take]`).click();
  await page.waitForFunction((id) => document.querySelector(`[data-takes="${id}"]`)?.textContent.includes("Lần đọc 1/2"), target.id,
    { timeout: 10000 });
  await page.evaluate(() => window.go.main.App.Stop());
  const back = await exportWav("take-1-again.wav");
  expect(back.equals(first), "back on the first take, the document does not sound as it did");
});

// a 4 s, 16 kHz mono WAV of a voiced sound (harmonics of a gliding pitch, syllable-like envelope)
function writeClip(file) {
  const rate = 16000, n = 4 * rate, buf = Buffer.alloc(44 + 2 * n);
  buf.write("RIFF", 0); buf.writeUInt32LE(36 + 2 * n, 4); buf.write("WAVEfmt ", 8); buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(2 * rate, 28);
  buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34); buf.write("data", 36); buf.writeUInt32LE(2 * n, 40);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    phase += (2 * Math.PI * (140 + 30 * Math.sin(2 * Math.PI * 0.7 * t))) / rate;
    let v = 0;
    for (let h = 1; h <= 8; h++) v += Math.sin(h * phase) / h;
    buf.writeInt16LE(Math.round(v * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t)) * 6000), 44 + 2 * i);
  }
  writeFileSync(file, buf);
}

test("a voice clip dropped on the window becomes a voice that can be previewed", async () => {
  await page.keyboard.press("Alt+3");
  await page.waitForSelector("[data-voice=lan]");
  const clip = path.join(work, "Bà Ngoại.wav");
  writeClip(clip);
  await page.evaluate((p) => window.WailsInvoke("DD:640:400:" + p), clip);
  await page.waitForSelector('[data-voice="bà-ngoại"]', { timeout: 60000 });
  expect((await page.locator('[data-voice="bà-ngoại"]').textContent()).includes("Bà Ngoại.wav"), "the new voice does not name its clip");
  // the preview is short: record that the player announced it rather than catching it on screen
  await page.evaluate(() => {
    window.__previewed = false;
    new MutationObserver(() => {
      if (document.querySelector("[data-testid=previewing]")?.textContent.includes("Bà Ngoại")) window.__previewed = true;
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.evaluate(() => { window.__player = []; window.runtime.EventsOn("player", (e) => window.__player.push(e)); });
  await page.locator('[data-voice="bà-ngoại"] button').click();
  await page.waitForFunction(() => window.__previewed, null, { timeout: 60000 });
  const events = await page.evaluate(() => window.__player.map((e) => `${e.kind}:${e.segmentId ?? 0}`));
  expect(events.includes("segment:0"), `the player did not start the preview: events ${events}`);
  await shot("voices");
  await page.evaluate(() => window.go.main.App.Stop());
});

test("a new voice for the document reads all its sentences again with it, and nothing else", async () => {
  await page.keyboard.press("Alt+2");
  const chapter = project.chapters[0].id;
  const before = await segmentsOf(chapter);
  const otherJob = (await page.evaluate(() => window.go.main.App.Jobs())).find((j) => j.projectId !== project.id);
  const otherProject = await page.evaluate((id) => window.go.main.App.Project(id), otherJob.projectId);
  const otherBefore = await segmentsOf(otherProject.chapters[0].id);
  const picker = page.locator("[data-voice-picker=document]");
  await picker.locator("select").first().selectOption("bà-ngoại");
  await picker.locator(`text=Đọc lại ${before.length} câu bằng giọng Bà Ngoại`).waitFor({ timeout: 10000 });
  await picker.locator("[data-action=apply-voice]").click();
  await page.waitForFunction((n) => [...document.querySelectorAll("[role=status]")].some((e) => e.textContent.includes(`Đổi cách đọc: đọc lại ${n} câu`)),
    before.length, { timeout: 15000 });
  // the backend's word first (the list reloads after the notice), then the list's
  await page.waitForFunction(async (id) => (await window.go.main.App.Segments(id)).every((s) => s.voice === "bà-ngoại" && s.state === "done"),
    chapter, { timeout: 120000, polling: 250 });
  await page.waitForFunction((n) => {
    const rows = [...document.querySelectorAll("[data-segment]")];
    return rows.length === n && rows.every((r) => r.getAttribute("data-state") === "done");
  }, before.length, { timeout: 30000 });
  const after = await segmentsOf(chapter);
  for (const s of after) expect(s.voice === "bà-ngoại" && s.state === "done", `sentence ${s.id} reads with ${s.voice}, ${s.state}`);
  const shown = await picker.locator("select").first().evaluate((el) => el.selectedOptions[0]?.textContent);
  expect(shown === "Bà Ngoại", `the document's voice shows as ${shown}`);
  const otherAfter = await segmentsOf(otherProject.chapters[0].id);
  expect(JSON.stringify(otherAfter) === JSON.stringify(otherBefore), "the other document changed");
  await shot("document-voice");
});

test("with 2,000 segments queued the list renders a screenful and keeps up with the events", async () => {
  const lines = ["Nhật ký làng quê", ""];
  for (let i = 1; i <= 2000; i++) lines.push(`Đoạn ${i}: sáng hôm ấy, người làng ra đồng từ rất sớm.`, "");
  const big = path.join(work, "nhat-ky.txt");
  writeFileSync(big, lines.join("\n"));
  await page.keyboard.press("Alt+1");
  await page.evaluate((p) => window.WailsInvoke("DD:640:400:" + p), big);
  await page.waitForFunction(() => [...document.querySelectorAll("[data-job] .title")].some((t) => /nhat-ky|Nhật ký/.test(t.textContent)),
    null, { timeout: 120000 });
  const job = (await page.evaluate(() => window.go.main.App.Jobs())).find((j) => /nhat-ky|Nhật ký/.test(j.title));
  expect(job.total >= 2000, `the document has ${job.total} segments, not 2,000`);
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: "longtask", buffered: false });
  });
  await page.locator(`[data-job="${job.id}"] [data-action=open]`).click();
  // the list is as tall as all its rows, though only a screenful of them exists
  await page.waitForFunction((n) => {
    const row = document.querySelector("[role=listitem]");
    const inner = document.querySelector("[role=list]")?.firstElementChild;
    return row && inner && parseFloat(inner.style.height) === n * parseFloat(row.style.height);
  }, job.total, { timeout: 30000 });
  const rows = await page.locator("[data-segment]").count();
  expect(rows < 80, `${rows} rows in the DOM for ${job.total} segments: the list is not virtualized`);
  // events keep arriving while the first sentences are narrated; the page applies them
  await page.waitForFunction(() => [...document.querySelectorAll("[data-segment]")].slice(0, 3).every((r) => r.dataset.state === "done"),
    null, { timeout: 120000 });
  const last = await page.evaluate(async (id) => (await window.go.main.App.Project(id)).chapters.at(-1).id, job.projectId);
  const lastSegs = await segmentsOf(last);
  await page.evaluate(() => { const v = document.querySelector("[role=list]"); v.scrollTop = v.scrollHeight; v.dispatchEvent(new Event("scroll")); });
  await page.waitForSelector(`[data-segment="${lastSegs.at(-1).id}"]`, { timeout: 10000 });
  const rowsAfter = await page.locator("[data-segment]").count();
  expect(rowsAfter < 80, `${rowsAfter} rows in the DOM after scrolling to the end`);
  const long = await page.evaluate(() => window.__long);
  console.log(`      measured: ${rows} rows rendered for ${job.total} segments; long tasks while narrating: ${long.length}` +
    (long.length ? `, longest ${Math.round(Math.max(...long))} ms` : ""));
  await shot("document-2000");
  await page.evaluate((id) => window.go.main.App.CancelJob(id), job.id);
});

// run.sh writes a tiny checkpoint (PyTorch-format llm.pt, flow.pt, hift.pt, config.yaml) to
// WORKDIR/checkpoint and passes the app binary and its data folder.
test("a model built by an older version is rebuilt from the folder it was installed from, without downloading", async () => {
  const bin = process.env.VIETTTS_E2E_BIN, data = process.env.VIETTTS_STUDIO_HOME;
  expect(bin && data, "run.sh did not pass VIETTTS_E2E_BIN and VIETTTS_STUDIO_HOME");
  const folder = path.join(work, "checkpoint");
  const install = spawnSync(bin, ["model", "install", "--from", folder, "--dims", "tiny"], { encoding: "utf8", timeout: 120000 });
  expect(install.status === 0, `model install --from ${folder}: ${install.stdout}${install.stderr}`);
  // as an older version of the app wrote it
  const manifest = path.join(data, "cache/models/viet-tts/manifest.json");
  writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, "utf8")), format: 1 }));
  await page.keyboard.press("Alt+4");
  await page.waitForFunction(() => document.querySelector("main [data-testid=outdated]")?.textContent.includes("phiên bản cũ hơn của ứng dụng"),
    null, { timeout: 15000 });
  const panel = await page.locator("main").textContent();
  expect(panel.includes(folder) && panel.includes("Thư mục bạn đã dùng để cài mô hình vẫn còn đủ tệp"),
    `Settings does not name the folder the model was installed from:\n${panel}`);
  await shot("model-outdated");
  await page.evaluate(() => { window.__model = []; window.runtime.EventsOn("model", (e) => window.__model.push(e)); });
  // the first-run dialog may cover Settings once the status says no usable model: it has the same button
  await page.getByRole("button", { name: "Dựng lại (không cần tải)" }).last().click();
  await page.waitForFunction(() => window.__model.some((e) => e.finished), null, { timeout: 120000 });
  const events = await page.evaluate(() => window.__model);
  const end = events.find((e) => e.finished);
  expect(!end.error && end.model?.installed && !end.model.outdated, `the rebuild ended with ${JSON.stringify(end)}`);
  expect(events.some((e) => e.stage === "compile" && !e.finished), "the rebuild reported no progress");
  expect(!events.some((e) => e.stage === "download"), "the rebuild downloaded");
  expect(JSON.parse(readFileSync(manifest, "utf8")).format === 2, "the bundle on disk is still of format 1");
  await page.waitForFunction(() => document.querySelector("main")?.textContent.includes("dangvansam/viet-tts"), null, { timeout: 15000 });
  expect((await page.locator("main [data-testid=outdated]").count()) === 0, "Settings still says the model is outdated");
  await shot("model-rebuilt");
});

test("the page raised no uncaught errors", async () => {
  expect(consoleErrors.length === 0, consoleErrors.join("\n"));
});

for (const { name, fn } of tests) {
  const start = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`PASS: ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL: ${name}: ${e.message.split("\n").slice(0, 6).join("\n      ")}`);
    await shot("failed-" + results.length).catch(() => {});
  }
}
await browser.close();
const passed = results.filter(Boolean).length;
console.log(`\ne2e: ${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
