// The sign-up page of the local API, driven in headless Chromium: captcha,
// SMS code, registration, the logged-in panel and log-out, with a
// screenshot of each step in tests/artifacts/browser/.
//
// Run by `make test`, which starts DynamoDB Local and sets
// AWS_ENDPOINT_URL_DYNAMODB. The test reads the captcha's answer from the
// table (its access to the store) and the SMS code from the console sender.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
const binary = process.env.LOCAL_API_BIN ?? new URL("../../target/debug/local-api", import.meta.url).pathname;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const artifacts = new URL("../artifacts/browser/", import.meta.url).pathname;
const table = `browser-${Date.now()}`;
const mobile = "13800138000";

let server;
let url;
let browser;
const output = [];
const waiters = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

/** Resolves with the first match of `pattern` in the local API's output, past or future. */
function waitForOutput(pattern, timeoutMs = 10_000) {
  const seen = output.join("\n").match(pattern);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in the local API's output:\n${output.join("\n")}`)), timeoutMs);
    waiters.push({ pattern, resolve: (m) => { clearTimeout(timer); resolve(m); } });
  });
}

/** One GetItem on DynamoDB Local, which accepts any signature. */
async function getItem(pk) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": "DynamoDB_20120810.GetItem",
      authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
    },
    body: JSON.stringify({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()).Item;
}

before(async () => {
  assert.ok(endpoint, "AWS_ENDPOINT_URL_DYNAMODB is not set: run `make test`, which starts DynamoDB Local");
  assert.ok(existsSync(binary), `${binary} is missing: run \`make test\` (it builds the binaries first)`);
  assert.ok(existsSync(executablePath), `${executablePath} is missing: apt-get install chromium`);
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  server = spawn(binary, [], {
    env: { ...process.env, PORT: String(port), TABLE_NAME: table, AWS_ENDPOINT_URL_DYNAMODB: endpoint, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const collect = (chunk) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      output.push(line);
      for (const waiter of waiters.splice(0)) {
        const match = line.match(waiter.pattern);
        if (match) waiter.resolve(match); else waiters.push(waiter);
      }
    }
  };
  server.stdout.on("data", collect);
  server.stderr.on("data", collect);
  await waitForOutput(/Sign-up API on (http:\/\/\S+)/);
  url = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function captchaAnswer(page) {
  await page.waitForFunction(() => {
    const img = document.getElementById("captcha");
    return img.complete && img.naturalWidth === 120;
  });
  const src = await page.getAttribute("#captcha", "src");
  const id = src.match(/image_codes\/([0-9a-f-]{36})\//)[1];
  const item = await getItem(`captcha#${id}`);
  assert.ok(item, `no captcha ${id} in the table`);
  return item.answer.S;
}

const shot = (page, name) => page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true });

test("a person signs up, sees who is logged in, and logs out", async () => {
  const page = await browser.newPage({ viewport: { width: 520, height: 900 } });
  await page.goto(`${url}/`);
  await page.waitForSelector("#signup", { state: "visible" });
  await shot(page, "1-empty-form");

  await page.fill("#username", "alice_01");
  await page.fill("#password", "correct horse battery");
  await page.fill("#password2", "correct horse battery");
  await page.fill("#mobile", mobile);

  // A wrong image code: an inline error under the field, and a new picture.
  const firstSrc = await page.getAttribute("#captcha", "src");
  await page.fill("#image_code", "zzzz");
  await page.click("#send");
  await page.waitForSelector('.error[data-for="image_code"]:has-text("Incorrect verification code")');
  assert.notEqual(await page.getAttribute("#captcha", "src"), firstSrc, "a spent captcha is replaced");
  await shot(page, "2-wrong-image-code");

  // Clicking the picture draws another one.
  const beforeClick = await page.getAttribute("#captcha", "src");
  await page.click("#captcha");
  assert.notEqual(await page.getAttribute("#captcha", "src"), beforeClick);

  await page.fill("#image_code", (await captchaAnswer(page)).toUpperCase());
  await shot(page, "3-filled-in");
  await page.click("#send");
  await page.waitForSelector('#notice:has-text("Code sent")');
  assert.match(await page.textContent("#send"), /Resend in \d+s/);
  assert.equal(await page.isDisabled("#send"), true);
  const [, code] = await waitForOutput(/SMS to 138\*\*\*\*8000: (\d{6}) \(valid 3 min\)/);
  await shot(page, "4-code-sent");

  await page.fill("#sms_code", code);
  await page.click("#submit");
  await page.waitForSelector('.error[data-for="allow"]:has-text("user agreement")');
  await page.check("#allow");
  await page.click("#submit");
  await page.waitForSelector("#welcome", { state: "visible" });
  assert.equal(await page.textContent("#who"), "alice_01");
  assert.equal(await page.textContent("#who-mobile"), "138****8000");
  const cookies = await page.context().cookies(url);
  const session = cookies.find((c) => c.name === "sessionid");
  assert.ok(session && session.httpOnly, "an HttpOnly session cookie is set");
  await shot(page, "5-logged-in");

  await page.reload();
  await page.waitForSelector("#welcome", { state: "visible" });

  await page.click("#logout");
  await page.waitForSelector("#signup", { state: "visible" });
  assert.equal((await page.context().cookies(url)).some((c) => c.name === "sessionid" && c.value), false);
  await shot(page, "6-logged-out");
});

test("a second code within the cooldown counts down from Retry-After", async () => {
  const page = await browser.newPage({ viewport: { width: 520, height: 900 } });
  await page.goto(`${url}/`);
  await page.waitForSelector("#signup", { state: "visible" });
  await page.fill("#mobile", mobile);
  await page.fill("#image_code", await captchaAnswer(page));
  await page.click("#send");
  await page.waitForSelector('.error[data-for="sms_code"]:has-text("Operation is too frequent")');
  const label = await page.textContent("#send");
  const seconds = Number(label.match(/Resend in (\d+)s/)[1]);
  assert.ok(seconds > 100 && seconds <= 180, label);
  await shot(page, "7-too-frequent");
});
