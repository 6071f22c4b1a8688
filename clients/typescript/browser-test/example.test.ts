/**
 * The example page (example/app.tsx) in a real browser: Debian's headless Chromium driven by
 * puppeteer-core, against the local stack (`make test-browser` runs it through
 * infra/scripts/dev.sh, which serves the page at /_local/example/). The page is on
 * http://127.0.0.1:PORT and calls the API as http://localhost:PORT, so every call is
 * cross-origin and goes through the gateway's CORS, as the front end's calls do.
 *
 * Checks: the admin's page lists the demo customers; a customer that another admin creates
 * through the API appears on it within 2 s without a reload (token → ticket → WebSocket →
 * invalidation → refetch); a client user's page shows only their own customer, before and
 * after changes, including one to that customer. A screenshot goes to infra/.run/.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { unwrap } from "../src/index.js";
import { apiUrl, clientFor, newMember, token } from "../stack-test/stack.js";

const runDir = fileURLToPath(new URL("../../../../infra/.run/", import.meta.url));
const crossOriginApi = apiUrl.replace("127.0.0.1", "localhost");
let browser: Browser;
let profile: string;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    userDataDir: profile,
    // As root in a container, and on a machine whose network is closed: no sandbox, and none of
    // Chromium's own calls home.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  rmSync(profile, { recursive: true, force: true });
});

/** The example page signed in with `accessToken`; page errors fail the test. */
async function openPage(accessToken: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 760 });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const fragment = new URLSearchParams({ token: accessToken, api: crossOriginApi });
  await page.goto(`${apiUrl}/_local/example/#${fragment}`);
  await page.waitForSelector('#live-status[data-status="open"]', { timeout: 10_000 });
  await page.waitForSelector("#customers", { timeout: 10_000 });
  return { page, errors };
}

const listed = (page: Page) =>
  page.$$eval("#customers li", (items) => items.map((li) => ({ id: li.getAttribute("data-customer-id"), text: li.textContent })));

test("the example page lists, updates live, and shows a client only their own customer", async () => {
  const adminToken = token("admin@acme.test", "Acme Demo");
  const admin = await openPage(adminToken);
  const names = (await listed(admin.page)).map((c) => c.text ?? "");
  for (const demo of ["Northwind Traders", "Contoso Ltd", "Initech"]) {
    assert.ok(names.some((n) => n.startsWith(demo)), `${demo} is listed: ${names.join(", ")}`);
  }
  assert.match(await admin.page.$eval("#who", (el) => el.textContent ?? ""), /admin@acme\.test \(admin\)/);

  const clientPage = await openPage(token("client@acme.test", "Acme Demo"));
  const own = await listed(clientPage.page);
  assert.equal(own.length, 1, "a client sees one customer");
  assert.ok(own[0]?.text?.startsWith("Northwind Traders"));
  const northwind = own[0]?.id ?? assert.fail("an id");

  // Another admin of Acme, from elsewhere (not the page's user, not the page's client).
  const acme = await unwrap(clientFor(adminToken).GET("/me"));
  const other = await newMember(acme.organization?.id ?? assert.fail("an org"), "admin");
  const otherAdmin = clientFor(token(other.email, "Acme Demo"));
  const created = await unwrap(otherAdmin.POST("/customers", { body: { name: "Appears Live Inc" } }));
  // Within 2 s of the API's answer, without a reload.
  await admin.page.waitForSelector(`#customers li[data-customer-id="${created.id}"]`, { timeout: 2_000 });

  // A change to the client's own customer reaches the client's page...
  await unwrap(
    otherAdmin.PATCH("/customers/{customerId}", { params: { path: { customerId: northwind } }, body: { email: "live@northwind.example" } }),
  );
  await clientPage.page.waitForFunction(() => document.querySelector("#customers")?.textContent?.includes("live@northwind.example"), {
    timeout: 2_000,
  });
  // ...and the refetch it caused still shows nobody else's.
  assert.deepEqual((await listed(clientPage.page)).map((c) => c.id), [northwind]);

  mkdirSync(runDir, { recursive: true });
  await admin.page.screenshot({ path: join(runDir, "example-page.png"), fullPage: true });
  await clientPage.page.screenshot({ path: join(runDir, "example-page-client.png"), fullPage: true });
  assert.deepEqual([...admin.errors, ...clientPage.errors], [], "no errors on the pages");
});
