// The dashboard scenario in Chromium (Playwright), against a running `ciel up` (see run.sh).
// Every step asserts what the page shows and, where the page acted, what the OpenStack API
// says; the first failing step stops the run with a screenshot and a non-zero exit.
//   CIEL_URL, CIEL_ADMIN_PASSWORD, CIEL_UPLOAD_FILE, CIEL_SHOTS, CHROMIUM
import { createRequire } from "node:module";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../dashboard/package.json"));
const { chromium } = require("playwright-core");

const BASE = process.env.CIEL_URL ?? "http://127.0.0.1:8080";
const PASSWORD = process.env.CIEL_ADMIN_PASSWORD ?? "";
const UPLOAD = process.env.CIEL_UPLOAD_FILE;
const SHOTS = process.env.CIEL_SHOTS ?? "target/test-output/browser";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const PUBLIC_KEY = process.env.CIEL_PUBLIC_KEY ?? "";
const T0 = Date.now();

// ------------------------------------------------------------------ harness --
let passed = 0;
let failed = 0;
let page;
const seconds = () => ((Date.now() - T0) / 1000).toFixed(1);

class Failure extends Error {}
function expect(cond, message) {
  if (!cond) throw new Failure(message);
}

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    passed++;
    console.log(`  PASS ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`  FAIL ${name}\n       | ${String(e?.message ?? e).split("\n").slice(0, 12).join("\n       | ")}`);
    const file = path.join(SHOTS, `failure-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`);
    await page?.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.log(`       | screenshot: ${file}`);
    throw e;
  }
}

async function shot(name, { fullPage = false } = {}) {
  await page.waitForTimeout(400); // let transitions settle
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

// --------------------------------------------------------------------- API --
let token = null;
let projectId = null;
async function api(method, p, body) {
  const res = await fetch(BASE + p, {
    method,
    headers: { "X-Auth-Token": token, "Content-Type": "application/json", Accept: "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
async function apiLogin() {
  const res = await fetch(`${BASE}/identity/v3/auth/tokens`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      auth: {
        identity: { methods: ["password"], password: { user: { name: "admin", domain: { name: "Default" }, password: PASSWORD } } },
        scope: { project: { name: "admin", domain: { name: "Default" } } },
      },
    }),
  });
  expect(res.status === 201, `API login answered ${res.status}`);
  token = res.headers.get("x-subject-token");
  projectId = (await res.json()).token.project.id;
}
async function eventually(what, fn, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last === true) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Failure(`${what} (last seen: ${JSON.stringify(last)})`);
}

// ----------------------------------------------------------------- helpers --
const row = (testId, attr, value) => page.locator(`[data-testid="${testId}"][data-${attr}="${value}"]`);
async function rowAction(menuTestId, item) {
  await page.getByTestId(menuTestId).click();
  await page.getByRole("menuitem", { name: item, exact: true }).click();
}
async function confirm() {
  const dialog = page.getByTestId("confirm-dialog");
  await dialog.locator(".btn-danger").click();
  await dialog.waitFor({ state: "detached", timeout: 20000 });
}
async function go(hash, readySelector) {
  await page.goto(`${BASE}/#${hash}`);
  if (readySelector) await page.locator(readySelector).first().waitFor({ timeout: 20000 });
}
/** Waits until the chart `testId` (within `scope`) draws at least `min` samples; while it is
 * not there, reports what `scope` shows instead (an empty state or an error). */
async function chartPoints(scope, testId, min, timeoutMs = 90000) {
  await eventually(`${testId} draws ${min} samples or more`, async () => {
    const chart = scope.getByTestId(testId);
    if (await chart.count()) {
      const n = Number(await chart.first().getAttribute("data-points"));
      return n >= min || `${n} samples`;
    }
    return (await scope.innerText()).replace(/\s+/g, " ").slice(0, 200);
  }, timeoutMs);
  return Number(await scope.getByTestId(testId).first().getAttribute("data-points"));
}

// ---------------------------------------------------------------- scenario --
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
let exitCode = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(15000);
  await apiLogin();

  await step("the login page refuses a wrong password in plain words", async () => {
    await page.goto(`${BASE}/`);
    await page.fill("#login-user", "admin");
    await page.fill("#login-password", "not-the-password");
    await page.fill("#login-project", "admin");
    await page.click("button[type=submit]");
    const alert = page.getByTestId("login-form").getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    expect(/not right/.test(text) && !text.includes("{"), `error shown: ${text}`);
    await shot("00-login");
  });

  await step("log in as admin and see the overview charts", async () => {
    await page.fill("#login-password", PASSWORD);
    await page.click("button[type=submit]");
    await page.locator(".sidebar").waitFor();
    await page.getByTestId("usage-instances").waitFor();
    await page.getByTestId("usage-floating-ips").waitFor();
    const detail = await page.getByTestId("usage-instances").innerText();
    expect(/0 of 10/.test(detail), `instances usage: ${detail}`);
    expect(await page.getByText("Admin", { exact: true }).isVisible(), "the admin section of the sidebar is shown to an admin");
  });

  await step("upload an image from the browser with a progress bar", async () => {
    await go("/images", '[data-testid="images-table"]');
    await page.getByTestId("upload-image").click();
    await page.setInputFiles("#image-file", UPLOAD);
    await page.fill("#image-name", "browser-upload");
    expect((await page.inputValue("#image-format")) === "raw", "the disk format is guessed from the file name");
    // Record every value the progress bar takes.
    await page.evaluate(() => {
      window.__progress = [];
      new MutationObserver(() => {
        const bar = document.querySelector('[data-testid="upload-row"] [role="progressbar"]');
        const v = bar?.getAttribute("aria-valuenow");
        if (v !== null && v !== undefined && window.__progress.at(-1) !== v) window.__progress.push(v);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByTestId("upload-submit").click();
    const uploadRow = page.getByTestId("upload-row").first();
    await uploadRow.locator('[role="progressbar"]').waitFor();
    await page.locator('[data-testid="upload-row"][data-state="done"]').waitFor({ timeout: 60000 });
    const values = await page.evaluate(() => window.__progress);
    expect(values.at(-1) === "100", `the progress bar ends at 100% (values: ${values})`);
    console.log(`       progress bar values: ${values.join(" ")}`);
    await row("image-row", "name", "browser-upload").and(page.locator('[data-status="active"]')).waitFor({ timeout: 30000 });
    const imgs = await api("GET", "/image/v2/images?name=browser-upload");
    const img = imgs.body.images[0];
    expect(img && img.status === "active" && img.size === statSync(UPLOAD).size, `Glance: ${JSON.stringify(img)}`);
    await rowAction("actions-browser-upload", "Make public");
    await row("image-row", "name", "browser-upload").locator(".chip", { hasText: "public" }).waitFor();
    const patched = await api("GET", `/image/v2/images/${img.id}`);
    expect(patched.body.visibility === "public", `Glance visibility: ${patched.body.visibility}`);
    await shot("06-images");
  });

  await step("create a network with a subnet", async () => {
    await go("/networks", '[data-testid="networks-table"]');
    await page.getByTestId("create-network").click();
    await page.fill("#net-name", "web-net");
    await page.fill("#subnet-cidr", "10.42.0.300/24");
    await page.getByTestId("network-submit").click();
    await page.getByText("Each part of the address must be 0–255.").waitFor();
    await page.fill("#subnet-cidr", "10.42.0.0/24");
    await page.getByTestId("network-submit").click();
    await page.getByTestId("network-dialog").waitFor({ state: "detached" });
    await row("network-row", "name", "web-net").getByText("10.42.0.0/24").waitFor();
    const subnets = await api("GET", "/network/v2.0/subnets?cidr=10.42.0.0/24");
    expect(subnets.body.subnets.length === 1, `Neutron subnets: ${JSON.stringify(subnets.body)}`);
  });

  await step("create a router to public with an interface on the subnet", async () => {
    await go("/routers");
    await page.getByTestId("create-router").click();
    await page.fill("#router-name", "web-router");
    await page.selectOption("#router-external", { label: "public" });
    await page.selectOption("#router-subnet", { label: "web-net-subnet (10.42.0.0/24)" });
    await page.getByTestId("router-submit").click();
    const r = row("router-row", "name", "web-router");
    await r.getByText("10.42.0.1").waitFor();
    await r.getByText(/172\.24\.4\.\d+/).waitFor();
    const routers = await api("GET", "/network/v2.0/routers?name=web-router");
    const router = routers.body.routers[0];
    expect(router?.external_gateway_info?.network_id, `Neutron router: ${JSON.stringify(router)}`);
    await go("/networks", '[data-testid="networks-table"]');
    await shot("07-networks");
  });

  await step("an API error is shown in plain words next to its cause (overlapping subnet)", async () => {
    await go("/networks", '[data-testid="network-row"]');
    await rowAction("actions-web-net", "Add subnet");
    const dialog = page.getByTestId("network-dialog");
    await dialog.locator("#subnet-cidr").fill("10.42.0.0/25");
    await page.getByTestId("network-submit").click();
    const alert = dialog.getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    expect(/overlap/i.test(text) && !text.includes("{") && !text.includes("NeutronError"), `error shown: ${text}`);
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  await step("create a key pair (private key downloaded once) and import a public key", async () => {
    await go("/keypairs");
    await page.getByRole("button", { name: "Create key pair" }).click();
    await page.fill("#kp-name", "web-key");
    const downloading = page.waitForEvent("download");
    await page.getByRole("button", { name: "Create and download" }).click();
    const download = await downloading;
    expect(download.suggestedFilename() === "web-key.pem", `downloaded ${download.suggestedFilename()}`);
    const pem = readFileSync(await download.path(), "utf8");
    expect(pem.includes("PRIVATE KEY-----"), "the download is a private key");
    await page.getByRole("button", { name: "Done" }).click();
    await row("keypair-row", "name", "web-key").waitFor();
    const kp = await api("GET", "/compute/v2.1/os-keypairs/web-key");
    expect(kp.status === 200 && !kp.body.keypair.private_key, `Nova keeps the public key only (${kp.status})`);
    // Importing checks the key's shape before sending it.
    await page.getByRole("button", { name: "Import public key" }).click();
    await page.fill("#kp-name", "imported");
    await page.fill("#kp-public", "not a key");
    await page.getByRole("dialog").getByRole("button", { name: "Import", exact: true }).click();
    await page.getByText("Paste an OpenSSH public key").waitFor();
    await page.fill("#kp-public", PUBLIC_KEY);
    await page.getByRole("dialog").getByRole("button", { name: "Import", exact: true }).click();
    await row("keypair-row", "name", "imported").waitFor();
    const imported = await api("GET", "/compute/v2.1/os-keypairs/imported");
    expect(imported.body.keypair.public_key.trim() === PUBLIC_KEY.trim(), "Nova has the imported public key");
  });

  await step("switch to another project and back (rescoped tokens)", async () => {
    await go("/instances");
    await page.getByTestId("project-switcher").click();
    await page.getByRole("option", { name: "demo" }).click();
    await page.getByTestId("project-switcher").getByText("demo").waitFor();
    await page.getByText("No instances").waitFor();
    const uiToken = await page.evaluate(() => sessionStorage.getItem("ciel.token"));
    const t = await fetch(`${BASE}/identity/v3/auth/tokens`, { headers: { "X-Auth-Token": token, "X-Subject-Token": uiToken } });
    expect((await t.json()).token.project.name === "demo", "the page's token is scoped to demo");
    await page.getByTestId("project-switcher").click();
    await page.getByRole("option", { name: "admin" }).click();
    await page.getByTestId("project-switcher").getByText("admin").waitFor();
  });

  let serverIds = [];
  await step("launch 3 instances in one go through the wizard and see them ACTIVE", async () => {
    await go("/instances");
    await page.getByTestId("launch-instance").click();
    const wizard = page.getByTestId("launch-wizard");
    await wizard.locator("#wiz-name").waitFor();
    await page.fill("#wiz-name", "web");
    await page.fill("#wiz-count", "0");
    await page.getByTestId("wizard-launch").click();
    await wizard.getByText("The count must be a whole number of at least 1.").waitFor();
    await page.fill("#wiz-count", "3");
    await wizard.getByRole("button", { name: /Networks/ }).click();
    await wizard.locator(".choice.selected", { hasText: "web-net" }).waitFor();
    await wizard.getByRole("button", { name: /Security/ }).click();
    expect((await page.inputValue("#wiz-key")) !== "", "a key pair is chosen by default");
    await page.selectOption("#wiz-key", "web-key");
    await wizard.getByRole("button", { name: /Source/ }).click();
    await wizard.locator(".choice.selected", { hasText: "guest" }).waitFor();
    await shot("03-launch-wizard");
    await page.getByTestId("wizard-launch").click();
    await wizard.waitFor({ state: "detached", timeout: 30000 });
    for (const name of ["web-1", "web-2", "web-3"]) await row("instance-row", "name", name).waitFor({ timeout: 30000 });
    for (const name of ["web-1", "web-2", "web-3"])
      await page.locator(`[data-testid="instance-row"][data-name="${name}"][data-status="ACTIVE"]`).waitFor({ timeout: 150000 });
    const list = await api("GET", "/compute/v2.1/servers/detail");
    const web = list.body.servers.filter((s) => s.name.startsWith("web-"));
    expect(web.length === 3 && web.every((s) => s.status === "ACTIVE"), `Nova: ${web.map((s) => `${s.name}=${s.status}`)}`);
    expect(web.every((s) => Object.keys(s.addresses).includes("web-net")), "every instance has an address on web-net");
    expect(web.every((s) => s.key_name === "web-key"), "every instance has the key pair");
    serverIds = web.map((s) => s.id);
    await shot("02-instances");
  });

  await step("read the console log of web-1", async () => {
    await go("/instances", '[data-testid="instance-row"]');
    await rowAction("actions-web-1", "Console log");
    await page.getByTestId("console-log").waitFor();
    await page.getByTestId("console-log").getByText(/CIEL-GUEST booting/).waitFor({ timeout: 120000 });
    await shot("04-console-log");
  });

  await step("open the VNC console of web-1 (noVNC connected, canvas drawn)", async () => {
    await page.getByRole("tab", { name: "Console", exact: true }).click();
    await page.locator('[data-testid="vnc-console"][data-state="connected"]').waitFor({ timeout: 30000 });
    const canvas = page.locator('[data-testid="vnc-console"] canvas');
    await canvas.waitFor();
    const size = await canvas.evaluate((c) => [c.width, c.height]);
    expect(size[0] > 100 && size[1] > 100, `the VNC canvas has the guest's screen size (${size})`);
    await page.waitForTimeout(1500);
    await shot("05-vnc-console");
  });

  await step("pause and resume web-2, snapshot web-3", async () => {
    await go("/instances", '[data-testid="instance-row"]');
    await rowAction("actions-web-2", "Pause");
    await page.locator('[data-testid="instance-row"][data-name="web-2"][data-status="PAUSED"]').waitFor({ timeout: 60000 });
    await rowAction("actions-web-2", "Resume");
    await page.locator('[data-testid="instance-row"][data-name="web-2"][data-status="ACTIVE"]').waitFor({ timeout: 60000 });
    await rowAction("actions-web-3", "Create snapshot");
    await page.fill("#snap-name", "web-3-snap");
    await page.getByRole("dialog").getByRole("button", { name: "Create snapshot" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await go("/images", '[data-testid="image-row"]');
    await page.locator('[data-testid="image-row"][data-name="web-3-snap"][data-status="active"]').waitFor({ timeout: 90000 });
  });

  await step("create a volume, attach it to web-2, detach and delete it", async () => {
    await go("/volumes");
    await page.getByRole("button", { name: "Create volume" }).click();
    await page.fill("#vol-name", "web-data");
    await page.getByRole("dialog").getByRole("button", { name: "Create volume" }).click();
    await page.locator('[data-testid="volume-row"][data-name="web-data"][data-status="available"]').waitFor({ timeout: 60000 });
    await rowAction("actions-web-data", "Attach to instance");
    await page.selectOption("#attach-server", { label: "web-2" });
    await page.getByRole("dialog").getByRole("button", { name: "Attach" }).click();
    const attached = page.locator('[data-testid="volume-row"][data-name="web-data"][data-status="in-use"]');
    await attached.getByText("web-2").waitFor({ timeout: 60000 });
    const vols = (await api("GET", `/volume/v3/${projectId}/volumes/detail`)).body.volumes;
    const web2 = (await api("GET", "/compute/v2.1/servers?name=web-2")).body.servers[0];
    expect(vols[0]?.attachments?.[0]?.server_id === web2.id, `Cinder: ${JSON.stringify(vols[0]?.attachments)}`);
    await shot("13-volumes");
    await rowAction("actions-web-data", "Detach");
    await page.locator('[data-testid="volume-row"][data-name="web-data"][data-status="available"]').waitFor({ timeout: 60000 });
    await rowAction("actions-web-data", "Delete");
    await confirm();
    await page.getByText("No volumes").waitFor({ timeout: 60000 });
  });

  let fip = null;
  await step("associate a floating IP with web-1", async () => {
    await go("/instances", '[data-testid="instance-row"]');
    await rowAction("actions-web-1", "Associate floating IP");
    const dialog = page.getByTestId("associate-fip-dialog");
    await dialog.locator("#fip-port option").first().waitFor({ state: "attached" });
    await dialog.getByRole("button", { name: "Associate", exact: true }).click();
    await dialog.waitFor({ state: "detached", timeout: 20000 });
    const ips = await api("GET", "/network/v2.0/floatingips");
    fip = ips.body.floatingips[0];
    expect(ips.body.floatingips.length === 1 && fip.port_id, `Neutron floating IPs: ${JSON.stringify(ips.body)}`);
    const port = (await api("GET", `/network/v2.0/ports/${fip.port_id}`)).body.port;
    const web1 = (await api("GET", "/compute/v2.1/servers?name=web-1")).body.servers[0];
    expect(port.device_id === web1.id, `the floating IP's port belongs to web-1 (${port.device_id} vs ${web1.id})`);
    await row("instance-row", "name", "web-1").locator(".ip-floating", { hasText: fip.floating_ip_address }).waitFor({ timeout: 20000 });
    await go("/floating-ips", '[data-testid="fips-table"]');
    await row("fip-row", "address", fip.floating_ip_address).getByText("web-1").waitFor();
    await shot("10-floating-ips");
  });

  await step("the topology draws the networks, the router and the 3 instances", async () => {
    await go("/topology", '[data-testid="topology-network"]');
    await page.locator('[data-testid="topology-router"][data-name="web-router"]').waitFor();
    await eventually("3 instances drawn", async () => {
      const n = await page.locator('[data-testid="topology-instance"]').count();
      return n === 3 || n;
    });
    await page.getByTestId("topology-floating-ip").getByText(fip.floating_ip_address).waitFor();
    await shot("08-topology");
  });

  await step("add an SSH rule to the default security group", async () => {
    await go("/security-groups", '[data-testid="rules-table"]');
    await page.getByRole("button", { name: "Add rule" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Add rule" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.locator('[data-testid="rule-row"]', { hasText: "tcp" }).filter({ hasText: "22" }).waitFor();
    const rules = await api("GET", "/network/v2.0/security-group-rules?protocol=tcp&port_range_min=22");
    expect(rules.body.security_group_rules.length >= 1, `Neutron rules: ${JSON.stringify(rules.body)}`);
    await shot("09-security-groups");
  });

  // The hypervisor samples every 5 s here (run.sh: [usage] interval = 5) and the instances have
  // been running for minutes by now: the graphs need no waiting beyond their first read.
  await step("web-1's monitoring graphs (CPU, memory, disk, network) from the hypervisor's samples", async () => {
    const web1 = (await api("GET", "/compute/v2.1/servers?name=web-1")).body.servers[0];
    await go(`/instances/${web1.id}`, '[data-testid="monitoring"]');
    const monitoring = page.getByTestId("monitoring");
    await chartPoints(monitoring, "chart-cpu", 2);
    const drawn = {};
    for (const t of ["chart-cpu", "chart-memory", "chart-disk", "chart-network"]) {
      drawn[t] = Number(await monitoring.getByTestId(t).getAttribute("data-points"));
      expect(drawn[t] >= 2, `${t} draws ${drawn[t]} samples`);
    }
    const samples = await api("GET", `/ciel/v1/servers/${web1.id}/samples?period=hour`);
    const pts = samples.body?.points ?? [];
    expect(samples.status === 200 && pts.length >= 2 && pts.every((p) => p.cpu_percent >= 0) && pts.at(-1).memory_rss_bytes > 0,
      `Ciel's samples: ${samples.status} ${JSON.stringify(samples.body).slice(0, 300)}`);
    console.log(`       ${JSON.stringify(drawn)}; the API has ${pts.length} samples every ${samples.body.interval} s, the last at ${pts.at(-1).cpu_percent.toFixed(1)}% CPU, ${(pts.at(-1).memory_rss_bytes / 2 ** 20).toFixed(0)} MiB resident`);
    // The day's graphs, and back to the hour's for the picture.
    await page.getByTestId("period-day").click();
    await monitoring.locator('[data-period="day"], [data-testid="monitoring-empty"]').first().waitFor({ timeout: 20000 });
    await page.getByTestId("period-hour").click();
    await monitoring.locator('[data-period="hour"] [data-testid="chart-cpu"]').waitFor({ timeout: 20000 });
    await shot("instance-graphs", { fullPage: true });
  });

  await step("admin: hypervisors with their load and their graphs of the last hour", async () => {
    await go("/admin/hypervisors", '[data-testid="hypervisor-card"]');
    const card = page.getByTestId("hypervisor-card").first();
    await card.getByText("hv1").waitFor();
    await card.getByText(/3 running instances/).waitFor({ timeout: 20000 });
    await shot("11-admin-hypervisors");
    const n = await chartPoints(card, "host-chart-cpu", 2);
    await card.getByTestId("host-chart-memory").waitFor();
    await card.getByTestId("host-chart-storage").waitFor();
    console.log(`       hv1: ${n} samples in the last hour`);
    await shot("hypervisor-graphs", { fullPage: true });
  });

  await step("overview counts the 3 instances", async () => {
    await go("/overview", '[data-testid="usage-instances"]');
    await page.getByTestId("usage-instances").getByText("3 of 10").waitFor({ timeout: 20000 });
    await page.getByTestId("usage-floating-ips").getByText("1 of").waitFor({ timeout: 20000 });
    await shot("01-overview");
  });

  await step("overview: today's metered usage of the project (the instances' hours so far)", async () => {
    const usage = page.getByTestId("overview-usage");
    await usage.getByTestId("usage-row").first().waitFor({ timeout: 20000 });
    const rows = () => usage.getByTestId("usage-row").evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.key, Number(e.dataset.value)])));
    const shown = await rows();
    expect(Object.keys(shown).length === 7, `the usage card has 7 rows: ${JSON.stringify(shown)}`);
    await eventually("server hours above 0", async () => {
      const r = await rows();
      return r.server_hours > 0 || r;
    }, 40000);
    const shownNow = await rows();
    const metered = (await api("GET", `/ciel/v1/usage?project_id=${projectId}`)).body.projects.find((p) => p.project_id === projectId);
    expect(metered && metered.server_hours >= shownNow.server_hours && metered.vcpu_hours > 0,
      `Ciel's usage: ${JSON.stringify(metered)}, shown: ${JSON.stringify(shownNow)}`);
    console.log(`       today so far: ${shownNow.server_hours.toFixed(3)} server hours, ${shownNow.vcpu_hours.toFixed(3)} vCPU-hours, ${shownNow.floating_ip_hours.toFixed(3)} floating IP hours`);
  });

  // Octavia through the dashboard: one fully populated create (listener, pool, web-1 as the
  // member, a health monitor), ACTIVE once the local agent (the only host, so the network node
  // for web-net) serves it with haproxy; the status tree; a floating IP on the VIP; cascade delete.
  const LB_API = "/load-balancer/v2/lbaas";
  let lb = null;
  await step("create a load balancer from the form (listener, pool, one member, health monitor)", async () => {
    await go("/load-balancers");
    await page.getByText("No load balancers").waitFor();
    await page.getByTestId("create-lb").click();
    const dialog = page.getByTestId("lb-dialog");
    await dialog.locator("#lb-name").waitFor();
    await page.fill("#lb-name", "web-lb");
    await page.selectOption("#lb-subnet", { label: "web-net-subnet (10.42.0.0/24)" });
    await page.selectOption("#lb-protocol", "HTTP");
    await page.fill("#lb-port", "80");
    await page.selectOption("#lb-algorithm", "ROUND_ROBIN");
    await dialog.getByLabel("Member web-1").check();
    await page.fill("#lb-member-port", "0");
    expect(await page.locator("#lb-monitor").isChecked(), "a health monitor is proposed by default");
    await page.selectOption("#lb-monitor-type", "HTTP");
    await page.fill("#lb-monitor-timeout", "9");
    await page.getByTestId("lb-submit").click();
    await dialog.getByText("The member port must be a whole number from 1 to 65535.").waitFor();
    await dialog.getByText("The timeout must not be longer than the delay.").waitFor();
    await page.fill("#lb-member-port", "80");
    await page.fill("#lb-monitor-timeout", "3");
    await shot("14-load-balancer-create");
    await page.getByTestId("lb-submit").click();
    await dialog.waitFor({ state: "detached", timeout: 20000 });
    const r = row("lb-row", "name", "web-lb");
    await r.waitFor();
    console.log(`       first seen as ${await r.getAttribute("data-status")} / ${await r.getAttribute("data-operating")}`);
    const lbs = (await api("GET", `${LB_API}/loadbalancers?name=web-lb`)).body.loadbalancers;
    expect(lbs.length === 1 && lbs[0].listeners.length === 1 && lbs[0].pools.length === 1, `Octavia: ${JSON.stringify(lbs)}`);
    lb = lbs[0];
    const web1 = (await api("GET", "/compute/v2.1/servers?name=web-1")).body.servers[0];
    const web1Ip = (await api("GET", `/compute/v2.1/servers/${web1.id}`)).body.server.addresses["web-net"][0].addr;
    const pool = (await api("GET", `${LB_API}/pools/${lb.pools[0].id}`)).body.pool;
    const members = (await api("GET", `${LB_API}/pools/${pool.id}/members`)).body.members;
    expect(pool.lb_algorithm === "ROUND_ROBIN" && pool.protocol === "HTTP", `Octavia pool: ${JSON.stringify(pool)}`);
    expect(members.length === 1 && members[0].address === web1Ip && members[0].protocol_port === 80 && members[0].subnet_id === lb.vip_subnet_id,
      `Octavia members (web-1 is ${web1Ip}): ${JSON.stringify(members)}`);
    const hm = (await api("GET", `${LB_API}/healthmonitors/${pool.healthmonitor_id}`)).body.healthmonitor;
    expect(hm.type === "HTTP" && hm.delay === 5 && hm.timeout === 3 && hm.max_retries === 3, `Octavia monitor: ${JSON.stringify(hm)}`);
    const listener = (await api("GET", `${LB_API}/listeners/${lb.listeners[0].id}`)).body.listener;
    expect(listener.protocol === "HTTP" && listener.protocol_port === 80 && listener.default_pool_id === pool.id, `Octavia listener: ${JSON.stringify(listener)}`);
    // The list polls while PENDING_*: the row turns ACTIVE without a reload.
    await page.locator('[data-testid="lb-row"][data-name="web-lb"][data-status="ACTIVE"]').waitFor({ timeout: 90000 });
    lb = (await api("GET", `${LB_API}/loadbalancers/${lb.id}`)).body.loadbalancer;
    expect(lb.provisioning_status === "ACTIVE" && lb.vip_port_id, `Octavia: ${JSON.stringify(lb)}`);
    await r.getByText(lb.vip_address).waitFor();
    await shot("15-load-balancers");
  });

  await step("the load balancer's status tree, and a floating IP on its VIP", async () => {
    await row("lb-row", "name", "web-lb").getByRole("link", { name: "web-lb" }).click();
    const tree = page.getByTestId("status-tree");
    await tree.waitFor();
    await tree.getByTestId("tree-listener").waitFor();
    await tree.getByTestId("tree-pool").waitFor();
    await tree.getByTestId("tree-monitor").waitFor();
    const member = tree.getByTestId("tree-member");
    await member.getByText("web-1").waitFor();
    expect((await member.count()) === 1, "one member in the tree");
    // What the tree shows is Octavia's status tree, node by node.
    await eventually("the tree shows Octavia's statuses", async () => {
      const st = (await api("GET", `${LB_API}/loadbalancers/${lb.id}/status`)).body.statuses.loadbalancer;
      const m = st.listeners[0].pools[0].members[0];
      const shown = {
        lb: await tree.getByTestId("tree-loadbalancer").getAttribute("data-operating"),
        listener: await tree.getByTestId("tree-listener").getAttribute("data-operating"),
        member: await member.getAttribute("data-operating"),
      };
      const want = { lb: st.operating_status, listener: st.listeners[0].operating_status, member: m.operating_status };
      return JSON.stringify(shown) === JSON.stringify(want) || { shown, want };
    }, 20000);
    console.log(`       status tree: load balancer ${await tree.getByTestId("tree-loadbalancer").getAttribute("data-operating")}, member web-1 ${await member.getAttribute("data-operating")}`);
    await page.getByTestId("lb-associate").click();
    const dialog = page.getByTestId("lb-fip-dialog");
    await page.locator("#lb-fip-select").waitFor();
    await page.selectOption("#lb-fip-select", { label: "Allocate a new address" });
    await page.selectOption("#lb-fip-ext", { label: "public" });
    await page.getByTestId("lb-fip-submit").click();
    await dialog.waitFor({ state: "detached", timeout: 20000 });
    const ips = (await api("GET", "/network/v2.0/floatingips")).body.floatingips;
    const lbFip = ips.find((ip) => ip.port_id === lb.vip_port_id);
    expect(lbFip && lbFip.fixed_ip_address === lb.vip_address, `Neutron floating IPs: ${JSON.stringify(ips)}`);
    await page.getByTestId("lb-detail-fip").getByText(lbFip.floating_ip_address).waitFor();
    await shot("16-load-balancer-detail");
    await page.getByTestId("lb-disassociate").click();
    await page.getByTestId("lb-detail-fip").getByText("none").waitFor();
    const after = (await api("GET", `/network/v2.0/floatingips/${lbFip.id}`)).body.floatingip;
    expect(after.port_id === null, `Neutron still maps it: ${JSON.stringify(after)}`);
    const released = await api("DELETE", `/network/v2.0/floatingips/${lbFip.id}`);
    expect(released.status === 204, `releasing the VIP's floating IP answered ${released.status}`);
  });

  await step("Octavia's error body is shown in plain words (an unknown load balancer)", async () => {
    await go("/load-balancers/00000000-0000-4000-8000-000000000000");
    const alert = page.getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    expect(/not found/i.test(text) && !text.includes("{") && !text.includes("faultstring"), `error shown: ${text}`);
  });

  await step("delete the load balancer (cascade) from the confirm dialog", async () => {
    await go("/load-balancers", '[data-testid="lb-row"]');
    await rowAction("actions-web-lb", "Delete");
    await confirm();
    await row("lb-row", "name", "web-lb").waitFor({ state: "detached", timeout: 60000 });
    await page.getByText("No load balancers").waitFor();
    const gone = await api("GET", `${LB_API}/loadbalancers/${lb.id}`);
    expect(gone.status === 404, `Octavia still has it: ${gone.status} ${JSON.stringify(gone.body)}`);
    const port = await api("GET", `/network/v2.0/ports/${lb.vip_port_id}`);
    expect(port.status === 404, `the VIP port is left: ${port.status}`);
  });

  await step("disassociate and release the floating IP", async () => {
    await go("/floating-ips", '[data-testid="fips-table"]');
    const r = row("fip-row", "address", fip.floating_ip_address);
    await r.getByRole("button", { name: "Disassociate" }).click();
    await page.locator(`[data-testid="fip-row"][data-address="${fip.floating_ip_address}"][data-port=""]`).waitFor();
    const after = (await api("GET", `/network/v2.0/floatingips/${fip.id}`)).body.floatingip;
    expect(after.port_id === null, `Neutron still maps it: ${JSON.stringify(after)}`);
    await r.getByRole("button", { name: "Release" }).click();
    await confirm();
    await page.getByText("No floating IPs").waitFor();
    const gone = await api("GET", `/network/v2.0/floatingips/${fip.id}`);
    expect(gone.status === 404, `Neutron still has it: ${gone.status}`);
  });

  await step("delete the 3 instances at once", async () => {
    await go("/instances", '[data-testid="instance-row"]');
    await page.getByLabel("Select all instances").check();
    await page.getByTestId("delete-selected").click();
    await confirm();
    await page.getByText("No instances").waitFor({ timeout: 90000 });
    await eventually("Nova lists no server", async () => {
      const l = await api("GET", "/compute/v2.1/servers");
      return l.body.servers.length === 0 || l.body.servers.map((s) => s.name);
    }, 60000);
  });

  await step("delete the router, the network, the images, the key pair and the rule", async () => {
    await go("/routers", '[data-testid="router-row"]');
    await rowAction("actions-web-router", "Delete router");
    await confirm();
    await page.getByText("No routers").waitFor();
    await go("/networks", '[data-testid="network-row"]');
    await eventually("the network can be deleted", async () => {
      await rowAction("actions-web-net", "Delete network");
      const dialog = page.getByTestId("confirm-dialog");
      await dialog.locator(".btn-danger").click();
      const ok = await dialog.waitFor({ state: "detached", timeout: 5000 }).then(() => true, () => false);
      if (!ok) await dialog.getByRole("button", { name: "Cancel" }).click();
      return ok || (await dialog.getByRole("alert").innerText().catch(() => "no error shown"));
    }, 40000);
    await row("network-row", "name", "web-net").waitFor({ state: "detached" });
    await go("/images", '[data-testid="image-row"]');
    for (const name of ["browser-upload", "web-3-snap"]) {
      await rowAction(`actions-${name}`, "Delete");
      await confirm();
      await row("image-row", "name", name).waitFor({ state: "detached" });
    }
    await go("/keypairs", '[data-testid="keypair-row"]');
    for (const name of ["web-key", "imported"]) {
      await row("keypair-row", "name", name).getByRole("button", { name: "Delete" }).click();
      await confirm();
    }
    await page.getByText("No key pairs").waitFor();
    await go("/security-groups", '[data-testid="rules-table"]');
    await page.locator('[data-testid="rule-row"]', { hasText: "tcp" }).getByRole("button", { name: "Delete rule" }).click();
    await page.locator('[data-testid="rule-row"]', { hasText: "tcp" }).waitFor({ state: "detached" });
    const nets = await api("GET", "/network/v2.0/networks?name=web-net");
    const routers = await api("GET", "/network/v2.0/routers?name=web-router");
    const imgs = (await api("GET", "/image/v2/images")).body.images.filter((i) => i.name === "browser-upload" || i.name === "web-3-snap");
    const keys = (await api("GET", "/compute/v2.1/os-keypairs")).body.keypairs;
    const rules = (await api("GET", "/network/v2.0/security-group-rules?protocol=tcp")).body.security_group_rules;
    expect(nets.body.networks.length === 0 && routers.body.routers.length === 0, "Neutron still lists the network or router");
    expect(imgs.length === 0 && keys.length === 0 && rules.length === 0, `left: ${imgs.length} images, ${keys.length} key pairs, ${rules.length} tcp rules`);
  });

  await step("an expired session goes back to the login page and returns to the same page", async () => {
    await go("/security-groups", '[data-testid="rules-table"]');
    const uiToken = await page.evaluate(() => sessionStorage.getItem("ciel.token"));
    const revoke = await fetch(`${BASE}/identity/v3/auth/tokens`, { method: "DELETE", headers: { "X-Auth-Token": token, "X-Subject-Token": uiToken } });
    expect(revoke.status === 204, `revoking the page's token answered ${revoke.status}`);
    await page.getByText("Your session has expired").waitFor({ timeout: 20000 });
    expect(page.url().endsWith("#/security-groups"), `the address keeps the page: ${page.url()}`);
    await shot("12-session-expired");
    await page.fill("#login-password", PASSWORD);
    await page.click("button[type=submit]");
    await page.getByTestId("rules-table").waitFor();
  });

  await step("sign out revokes the token", async () => {
    const uiToken = await page.evaluate(() => sessionStorage.getItem("ciel.token"));
    await page.getByTestId("user-menu").click();
    await page.getByTestId("sign-out").click();
    await page.getByText("You have signed out.").waitFor();
    await eventually("the token is revoked", async () => {
      const r = await fetch(`${BASE}/identity/v3/auth/tokens`, { headers: { "X-Auth-Token": token, "X-Subject-Token": uiToken } });
      return r.status === 404 || r.status;
    }, 10000);
  });

  await step("a member (not admin) sees no admin views", async () => {
    await page.fill("#login-user", "alice");
    await page.fill("#login-password", "alice-pw");
    await page.fill("#login-project", "demo");
    await page.click("button[type=submit]");
    await page.locator(".sidebar").waitFor();
    expect(!(await page.getByText("Hypervisors").isVisible()), "the admin section is hidden from a member");
    await go("/admin/hypervisors");
    await page.getByText("Administrators only").waitFor();
    await page.getByTestId("user-menu").click();
    await page.getByTestId("sign-out").click();
    await page.getByText("You have signed out.").waitFor();
  });

  await step("no script errors in the page", async () => {
    expect(pageErrors.length === 0, `page errors: ${pageErrors.join("; ")}`);
  });
} catch (e) {
  exitCode = 1;
  if (!(e instanceof Failure) && failed === 0) console.log(`  ERROR ${e?.stack ?? e}`);
} finally {
  await browser.close().catch(() => {});
}
console.log(`browser: ${passed} passed, ${failed} failed in ${seconds()} s`);
process.exit(exitCode || (failed ? 1 : 0));
