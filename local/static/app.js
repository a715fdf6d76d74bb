"use strict";
// The sign-up page's script: a separate file so the Content-Security-Policy
// needs no 'unsafe-inline'.
//
// The API base is fixed when the page is served or deployed: the content of
// <meta name="api-base"> (the local API fills it from API_BASE_URL), or this
// page's own origin when empty. It is never read from the page's address, from
// storage or from a field, so a link to this page cannot send someone's
// password and SMS code to another server.
const $ = (id) => document.getElementById(id);
const BASE = (document.querySelector('meta[name="api-base"]')?.content ?? "").trim().replace(/\/+$/, "");
// Earlier versions kept a user-chosen API base here; forget any stored one.
try { localStorage.removeItem("api"); } catch (_) { /* storage disabled */ }

// Which field shows each of the API's error keys; the rest go to the notice.
const FIELD = {
  invalid_username: "username", username_taken: "username",
  invalid_password: "password", password_mismatch: "password2",
  invalid_mobile: "mobile", mobile_taken: "mobile", mobile_not_allowed: "mobile", mobile_daily_limit: "mobile",
  missing_parameters: "image_code", invalid_image_code: "image_code", captcha_expired: "image_code",
  captcha_incorrect: "image_code", invalid_captcha_id: "image_code", captcha_failure_limit: "image_code",
  ip_captcha_limit: "image_code",
  invalid_sms_code: "sms_code", sms_code_expired: "sms_code", sms_code_incorrect: "sms_code",
  invalid_sms_code_id: "sms_code", sms_code_failure_limit: "sms_code", too_frequent: "sms_code",
  ip_sms_limit: "sms_code", sms_busy: "sms_code", sms_failed: "sms_code",
  allow_required: "allow",
};

let captchaId = "";
function newCaptcha() {
  captchaId = crypto.randomUUID();
  $("captcha").src = `${BASE}/image_codes/${captchaId}/`;
  $("image_code").value = "";
}
$("captcha").addEventListener("click", newCaptcha);

// The id the API gave the last code it sent; registration sends it back.
let smsCodeId = "";

function clearErrors() {
  document.querySelectorAll(".error").forEach((e) => (e.textContent = ""));
  notice("", "");
}
function notice(text, kind) { $("notice").textContent = text; $("notice").className = kind; }

/** Seconds until a refused request may be retried: `retry_after` in the body, else the Retry-After header. */
function retryAfter({ headers, body }) {
  if (Number.isFinite(body.retry_after) && body.retry_after >= 0) return Math.ceil(body.retry_after);
  const header = headers?.get("retry-after");
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function duration(seconds) {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.ceil(seconds / 60)} min`;
  return `${Math.ceil(seconds / 3600)} h`;
}

/** The refusal's message, with the attempts the SMS code has left and, unless a countdown shows it, the wait. */
function refusal(answer, { countdownShown = false } = {}) {
  const { status, body } = answer;
  let text = body.errmsg || `Something went wrong (HTTP ${status})`;
  if (Number.isInteger(body.attempts_left)) {
    const n = body.attempts_left;
    text += n > 0 ? `, ${n} attempt${n === 1 ? "" : "s"} left` : ", no attempts left: please send a new code";
  }
  const wait = retryAfter(answer);
  if (wait && !countdownShown) text += `. Try again in ${duration(wait)}.`;
  return text;
}

function showError(answer, options) {
  const field = FIELD[answer.body.error];
  const target = field && document.querySelector(`.error[data-for="${field}"]`);
  const text = refusal(answer, options);
  if (target) target.textContent = text; else notice(text, "bad");
}
// Typing into a field clears its error.
document.querySelectorAll("input").forEach((input) => input.addEventListener("input", () => {
  const error = document.querySelector(`.error[data-for="${input.id}"]`);
  if (error) error.textContent = "";
}));

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(BASE + path, {
      method, credentials: "include",
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (_) {
    return { status: 0, headers: null, body: { errmsg: "The server cannot be reached, please try again" } };
  }
  let json = {};
  try { json = await response.json(); } catch (_) { json = { errmsg: `HTTP ${response.status}` }; }
  if (json === null || typeof json !== "object") json = {};
  return { status: response.status, headers: response.headers, body: json };
}

let timer = null;
function countdown(seconds) {
  const button = $("send");
  clearInterval(timer);
  const end = Date.now() + Math.max(1, Math.round(seconds)) * 1000;
  button.disabled = true;
  const tick = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) { clearInterval(timer); button.disabled = false; button.textContent = "Send SMS code"; return; }
    button.textContent = left < 600 ? `Resend in ${left}s` : `Resend in ${duration(left)}`;
  };
  tick(); timer = setInterval(tick, 1000);
}

$("send").addEventListener("click", async () => {
  clearErrors();
  const mobile = $("mobile").value.trim();
  const query = new URLSearchParams({ image_code: $("image_code").value.trim(), image_code_id: captchaId });
  const answer = await api("GET", `/sms_codes/${encodeURIComponent(mobile)}/?${query}`);
  if (answer.status === 200) {
    if (typeof answer.body.sms_code_id === "string") smsCodeId = answer.body.sms_code_id;
    notice("Code sent. It is valid for 3 minutes.", "ok");
    countdown(retryAfter(answer) ?? 180);
  } else {
    // A 429, or a 502 whose outcome is unknown, says how long the cooldown holds.
    const wait = retryAfter(answer);
    if (wait) countdown(wait);
    showError(answer, { countdownShown: Boolean(wait) });
  }
  // Every attempt spends the picture: show a new one.
  newCaptcha();
});

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const form = {
    username: $("username").value.trim(), password: $("password").value, password2: $("password2").value,
    mobile: $("mobile").value.trim(), sms_code: $("sms_code").value.trim(), allow: $("allow").checked,
  };
  if (smsCodeId) form.sms_code_id = smsCodeId;
  const answer = await api("POST", "/register/", form);
  if (answer.status === 200) {
    smsCodeId = "";
    await checkSession();
  } else {
    showError(answer);
  }
});

async function checkSession() {
  const { status, body } = await api("GET", "/session");
  const logged = status === 200;
  $("signup").hidden = logged;
  $("welcome").hidden = !logged;
  if (logged) { $("who").textContent = body.username; $("who-mobile").textContent = body.mobile; }
}

$("logout").addEventListener("click", async () => {
  await api("DELETE", "/session");
  $("form").reset();
  smsCodeId = "";
  clearErrors();
  newCaptcha();
  await checkSession();
});

newCaptcha();
checkSession();
