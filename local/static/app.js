"use strict";
// The page's script: sign up, log in (password or SMS code), forgot password,
// and on the logged-in panel log out, log out everywhere, change the mobile
// number and close the account. A separate file so the Content-Security-Policy needs no
// 'unsafe-inline'.
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

// ---------------------------------------------------------------------------
// Language: Simplified Chinese or English, from the browser's preferences
// unless the person chose one with the switch (remembered in localStorage).

const STRINGS = {
  en: {
    title: "Sign up", title_login: "Log in", title_reset: "Reset password", title_welcome: "Your account",
    brand: "Phone sign-up", switch_to: "中文", switch_label: "切换到中文 / Switch to Chinese",
    intro_title: "One account, verified by your phone",
    intro_1: "Sign up with a mobile number and an SMS code.",
    intro_2: "Log in with your password or a code sent to your phone.",
    intro_3: "Forgot your password? Reset it with a code.",
    tab_register: "Sign up", tab_login: "Log in",
    register_title: "Create your account", register_lead: "Verify your mobile number to sign up.",
    username: "Username", username_hint: "5–20 letters, digits, _ or -",
    password: "Password", password_hint: "8–64 characters",
    password2: "Confirm password", password2_hint: "The same password again",
    new_password: "New password",
    mobile: "Mobile number", mobile_hint: "11 digits",
    image_code: "Image code", image_code_hint: "Characters shown", captcha_alt: "Image code",
    refresh: "Can't read it? New picture",
    sms_code: "SMS code", sms_code_hint: "6 digits",
    send: "Send SMS code", resend: "Resend code", resend_in: "Resend in {n}s", resend_in_long: "Resend in {d}",
    agree: "I have read and agree to the ", agreement: "user agreement",
    register_submit: "Sign up",
    login_title: "Welcome back", by_password: "Password", by_sms: "SMS code",
    one_tap_number: "This phone's number (stand-in carrier)", one_tap: "One-tap login",
    ticket_note: "The carrier confirmed this number: choose a username and password, no SMS code needed.",
    account: "Username or mobile number", forgot: "Forgot password?", login_submit: "Log in",
    try_again_in: "Try again in {n}s", try_again_in_long: "Try again in {d}",
    reset_title: "Reset your password", reset_lead: "We send a code to the number you signed up with.",
    reset_submit: "Reset password and log in", back_to_login: "Back to log in",
    welcome: "Welcome, ", logged_in_with: "Logged in with ",
    session_times: "Logged in since {from}; this session ends {until}.",
    logout: "Log out", logout_all: "Log out everywhere", close_account: "Close account",
    close_title: "Close your account",
    close_lead: "Your account ends and your username and number become free. Confirm with your password or an SMS code.",
    close_submit: "Close my account", cancel: "Cancel",
    change_mobile: "Change mobile number", mobile_title: "Change your mobile number",
    mobile_lead: "We send a code to the new number. Confirm it is you with your password or a code sent to your current number; other devices are logged out.",
    new_mobile: "New mobile number", current_mobile: "Current mobile number",
    new_sms_code: "SMS code sent to the new number", old_sms_code: "SMS code sent to the current number",
    proof_password: "Password", proof_old_sms: "Code to current number", mobile_submit: "Change number",
    mobile_changed: "Your mobile number is changed; other devices are logged out.",
    code_sent: "Code sent.", code_valid: "Code sent. It is valid for {d}.",
    logged_out: "You are logged out.", logged_out_all: "You are logged out on every device.",
    account_closed: "Your account is closed.", session_over: "Your session has ended, please log in again.",
    password_reset_done: "Your password is changed; other devices are logged out.",
    // The page's own checks, all shown at once on submit.
    need_username: "Use 5–20 letters, digits, _ or -, not only digits",
    need_password: "The password must be 8 to 64 characters",
    need_password2: "The two passwords differ",
    need_mobile: "Enter an 11-digit mobile number starting with 13 to 19",
    need_image_code: "Enter the characters in the picture",
    need_sms_code: "Enter the 6-digit SMS code",
    need_allow: "Please accept the user agreement",
    need_account: "Enter your username or mobile number",
    need_current_password: "Enter your password",
    // Refusal decorations.
    attempts_left: ", {n} attempts left", attempt_left: ", 1 attempt left",
    no_attempts_left: ", no attempts left: please send a new code",
    wait: ". Try again in {d}.", unreachable: "The server cannot be reached, please try again",
    http_error: "Something went wrong (HTTP {n})",
    seconds: "{n} s", minutes: "{n} min", hours: "{n} h",
  },
  zh: {
    title: "注册", title_login: "登录", title_reset: "找回密码", title_welcome: "我的账号",
    brand: "手机号注册", switch_to: "English", switch_label: "Switch to English / 切换到英文",
    intro_title: "一个账号，手机验证",
    intro_1: "用手机号和短信验证码注册。",
    intro_2: "用密码或短信验证码登录。",
    intro_3: "忘记密码？用短信验证码重设。",
    tab_register: "注册", tab_login: "登录",
    register_title: "注册账号", register_lead: "验证手机号即可注册。",
    username: "用户名", username_hint: "5–20 位字母、数字、_ 或 -",
    password: "密码", password_hint: "8–64 位字符",
    password2: "确认密码", password2_hint: "再次输入密码",
    new_password: "新密码",
    mobile: "手机号", mobile_hint: "11 位手机号",
    image_code: "图形验证码", image_code_hint: "图中字符", captcha_alt: "图形验证码",
    refresh: "看不清？换一张",
    sms_code: "短信验证码", sms_code_hint: "6 位数字",
    send: "获取短信验证码", resend: "重新获取", resend_in: "{n} 秒后重新获取", resend_in_long: "{d}后重新获取",
    agree: "我已阅读并同意", agreement: "《用户协议》",
    register_submit: "注册",
    login_title: "欢迎回来", by_password: "密码登录", by_sms: "验证码登录",
    one_tap_number: "本机号码（模拟运营商）", one_tap: "本机号码一键登录",
    ticket_note: "运营商已确认本机号码：设置用户名和密码即可注册，无需短信验证码。",
    account: "用户名或手机号", forgot: "忘记密码？", login_submit: "登录",
    try_again_in: "{n} 秒后再试", try_again_in_long: "{d}后再试",
    reset_title: "找回密码", reset_lead: "我们会向注册时的手机号发送验证码。",
    reset_submit: "重设密码并登录", back_to_login: "返回登录",
    welcome: "欢迎，", logged_in_with: "已登录手机号 ",
    session_times: "登录于 {from}，本次登录 {until} 到期。",
    logout: "退出登录", logout_all: "退出所有设备", close_account: "注销账号",
    close_title: "注销账号",
    close_lead: "注销后账号不可恢复，用户名和手机号可被重新注册。请用密码或短信验证码确认。",
    close_submit: "确认注销", cancel: "取消",
    change_mobile: "更换手机号", mobile_title: "更换手机号",
    mobile_lead: "我们会向新手机号发送验证码。请用密码或原手机号收到的验证码确认是您本人；其他设备将退出登录。",
    new_mobile: "新手机号", current_mobile: "原手机号",
    new_sms_code: "新手机号收到的验证码", old_sms_code: "原手机号收到的验证码",
    proof_password: "密码验证", proof_old_sms: "原手机号验证", mobile_submit: "确认更换",
    mobile_changed: "手机号已更换，其他设备已退出登录。",
    code_sent: "验证码已发送。", code_valid: "验证码已发送，{d}内有效。",
    logged_out: "已退出登录。", logged_out_all: "已退出所有设备。",
    account_closed: "账号已注销。", session_over: "登录已失效，请重新登录。",
    password_reset_done: "密码已重设，其他设备已退出登录。",
    need_username: "用户名为 5–20 位字母、数字、_ 或 -，不能全是数字",
    need_password: "密码为 8–64 位字符",
    need_password2: "两次输入的密码不一致",
    need_mobile: "请输入以 13–19 开头的 11 位手机号",
    need_image_code: "请输入图中的字符",
    need_sms_code: "请输入 6 位短信验证码",
    need_allow: "请阅读并同意《用户协议》",
    need_account: "请输入用户名或手机号",
    need_current_password: "请输入密码",
    attempts_left: "，还可尝试 {n} 次", attempt_left: "，还可尝试 1 次",
    no_attempts_left: "，已无尝试次数，请重新获取验证码",
    wait: "，请 {d}后再试。", unreachable: "无法连接服务器，请稍后重试",
    http_error: "出错了（HTTP {n}）",
    seconds: "{n} 秒", minutes: "{n} 分钟", hours: "{n} 小时",
  },
};

// The page's own words for the API's error keys. The server's `errmsg` is
// shown when it is in the page's language (it follows Accept-Language);
// otherwise these, and for an unknown key the server's words anyway.
const MESSAGES = {
  en: {
    login_failed: "Wrong account or password", captcha_required: "Too many failed log-ins: enter the characters in the picture",
    login_ip_limit: "Too many failed log-ins from your network, please try again later",
    mobile_not_registered: "This mobile number is not registered", not_logged_in: "Not logged in",
  },
  zh: {
    invalid_captcha_id: "图形验证码已失效，请换一张", invalid_mobile: "手机号须为以 13–19 开头的 11 位数字",
    missing_parameters: "参数不完整", invalid_image_code: "图形验证码为 1–16 位字母或数字",
    invalid_body: "请求格式有误", invalid_username: "用户名为 5–20 位字母、数字、_ 或 -，不能全是数字",
    invalid_password: "密码为 8–64 位字符", password_mismatch: "两次输入的密码不一致",
    invalid_sms_code: "短信验证码为 6 位数字", allow_required: "请阅读并同意《用户协议》",
    invalid_sms_code_id: "请使用最近一次获取的短信验证码", mobile_not_allowed: "无法向该号码发送短信",
    captcha_expired: "图形验证码已过期，请换一张", captcha_incorrect: "图形验证码错误",
    too_frequent: "操作过于频繁", mobile_daily_limit: "该号码今日获取验证码次数过多",
    ip_sms_limit: "您的网络获取验证码次数过多，请稍后再试", sms_busy: "短信发送繁忙，请稍后再试",
    ip_captcha_limit: "获取图形验证码过于频繁，请稍后再试", captcha_failure_limit: "图形验证码错误次数过多，请稍后再试",
    sms_code_failure_limit: "短信验证码错误次数过多，请稍后再试", sms_code_expired: "短信验证码已过期",
    sms_code_incorrect: "短信验证码错误", username_taken: "用户名已被占用", mobile_taken: "该手机号已注册",
    not_logged_in: "未登录", sms_failed: "短信发送失败，请稍后再试", store_unavailable: "服务暂时不可用，请稍后再试",
    internal_error: "服务器内部错误", unsupported_media_type: "请求格式有误",
    login_failed: "账号或密码错误", captcha_required: "登录失败次数过多，请输入图中的字符",
    login_ip_limit: "您所在的网络登录失败次数过多，请稍后再试", mobile_not_registered: "该手机号未注册",
    not_found: "请求的资源不存在", method_not_allowed: "不支持的请求方式",
    owner_proof_required: "请输入密码或原手机号收到的验证码", sms_code_wrong_purpose: "该短信验证码不能用于此操作",
  },
};

const LANG_KEY = "lang";
let lang = initialLanguage();

function initialLanguage() {
  try {
    const chosen = localStorage.getItem(LANG_KEY);
    if (chosen === "zh" || chosen === "en") return chosen;
  } catch (_) { /* storage disabled */ }
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language ?? "en"];
  for (const tag of preferred) {
    const t = String(tag).toLowerCase();
    if (t.startsWith("zh")) return "zh";
    if (t.startsWith("en")) return "en";
  }
  return "en";
}

/** The string `key` in the page's language, `{name}`s filled from `vars`. */
function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** `seconds` as words: 95 s, 10 min, 2 h. */
function duration(seconds) {
  if (seconds < 120) return t("seconds", { n: seconds });
  if (seconds < 7200) return t("minutes", { n: Math.ceil(seconds / 60) });
  return t("hours", { n: Math.ceil(seconds / 3600) });
}

// Texts written by the script re-render when the language changes.
const live = new Map();
/** Shows `render()` in `element` now and again after a language switch; an empty render clears it. */
function show(element, render) {
  if (!element) return;
  const text = render ? render() : "";
  element.textContent = text;
  if (text) live.set(element, render); else live.delete(element);
}

let view = "register";
function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((e) => (e.textContent = t(e.dataset.i18n)));
  document.querySelectorAll("[data-i18n-placeholder]").forEach((e) => (e.placeholder = t(e.dataset.i18nPlaceholder)));
  document.querySelectorAll("[data-i18n-alt]").forEach((e) => (e.alt = t(e.dataset.i18nAlt)));
  const toggle = $("lang");
  toggle.textContent = t("switch_to");
  toggle.lang = lang === "zh" ? "en" : "zh-CN";
  toggle.setAttribute("aria-label", t("switch_label"));
  for (const [element, render] of live) element.textContent = render();
  for (const widget of widgets) widget.relabel();
  document.title = t({ register: "title", login: "title_login", reset: "title_reset", welcome: "title_welcome" }[view]);
}

$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  try { localStorage.setItem(LANG_KEY, lang); } catch (_) { /* storage disabled */ }
  applyLanguage();
});

// ---------------------------------------------------------------------------
// The API.

async function api(method, path, body) {
  let response;
  const headers = { "accept-language": lang === "zh" ? "zh-CN,zh;q=0.9" : "en" };
  if (body) headers["content-type"] = "application/json";
  try {
    response = await fetch(BASE + path, {
      method, credentials: "include", headers, body: body ? JSON.stringify(body) : undefined,
    });
  } catch (_) {
    return { status: 0, headers: null, body: { error: "unreachable" } };
  }
  let json = {};
  try { json = await response.json(); } catch (_) { json = {}; }
  if (json === null || typeof json !== "object") json = {};
  return { status: response.status, headers: response.headers, body: json };
}

/** Seconds until a refused request may be retried: `retry_after` in the body, else the Retry-After header. */
function retryAfter({ headers, body }) {
  if (Number.isFinite(body.retry_after) && body.retry_after >= 0) return Math.ceil(body.retry_after);
  const header = headers?.get("retry-after");
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

const CJK = /[\u3400-\u9fff]/;
/** The refusal's words in the page's language: the server's when they are, else the page's own. */
function message({ status, body }) {
  if (body.error === "unreachable") return t("unreachable");
  const server = typeof body.errmsg === "string" && body.errmsg ? body.errmsg : null;
  const serverInLanguage = server && (lang === "zh" ? CJK.test(server) : !CJK.test(server));
  if (serverInLanguage) return server;
  return MESSAGES[lang][body.error] ?? server ?? t("http_error", { n: status });
}

/** The refusal's message, with the attempts the SMS code has left and, unless a countdown shows it, the wait. */
function refusal(answer, { countdownShown = false } = {}) {
  let text = message(answer);
  const n = answer.body.attempts_left;
  if (Number.isInteger(n)) text += n > 1 ? t("attempts_left", { n }) : n === 1 ? t("attempt_left") : t("no_attempts_left");
  const wait = retryAfter(answer);
  if (wait && !countdownShown) text += t("wait", { d: duration(wait) });
  return text;
}

// Which field shows each of the API's error keys; the rest go to the form's notice.
const FIELD = {
  invalid_username: "username", username_taken: "username",
  invalid_password: "password", password_mismatch: "password2", login_failed: "password",
  invalid_mobile: "mobile", mobile_taken: "mobile", mobile_not_allowed: "mobile", mobile_daily_limit: "mobile",
  mobile_not_registered: "mobile",
  missing_parameters: "image_code", invalid_image_code: "image_code", captcha_expired: "image_code",
  captcha_incorrect: "image_code", invalid_captcha_id: "image_code", captcha_failure_limit: "image_code",
  ip_captcha_limit: "image_code", captcha_required: "image_code",
  invalid_sms_code: "sms_code", sms_code_expired: "sms_code", sms_code_incorrect: "sms_code",
  invalid_sms_code_id: "sms_code", sms_code_failure_limit: "sms_code", too_frequent: "sms_code",
  ip_sms_limit: "sms_code", sms_busy: "sms_code", sms_failed: "sms_code",
  allow_required: "allow",
};

// ---------------------------------------------------------------------------
// Forms: errors under their fields, a notice under the form.

const prefixOf = (form) => form.dataset.prefix ?? "";
const errorFor = (form, name) => form.querySelector(`.error[data-for="${prefixOf(form)}${name}"]`);
// A part of a form with its own prefix (the current number's code inside the
// number change) has its own notice, `<prefix>notice`.
const noticeOf = (form) => $(`${prefixOf(form)}notice`) ?? form.querySelector(".notice");

function notice(element, render, kind = "") {
  show(element, render);
  element.classList.toggle("ok", kind === "ok");
  element.classList.toggle("bad", kind === "bad");
}

function clearErrors(form) {
  form.querySelectorAll(".error").forEach((e) => show(e, null));
  notice(noticeOf(form), null);
  show($("out-notice"), null);
}

/** Shows the API's refusal on its field of `form`, or in the form's notice. */
function showError(form, answer, options) {
  const field = FIELD[answer.body.error];
  const target = field && errorFor(form, field);
  const render = () => refusal(answer, options);
  if (target && !target.closest("[hidden]")) show(target, render); else notice(noticeOf(form), render, "bad");
}

/**
 * Checks `rules` ([field name, ok?, message key]) and shows every failure at
 * once; true when all pass.
 */
function check(form, rules) {
  let ok = true;
  for (const [name, passes, key] of rules) {
    if (passes) continue;
    if (ok) $(prefixOf(form) + name)?.focus();
    ok = false;
    show(errorFor(form, name), () => t(key));
  }
  return ok;
}
const USERNAME = /^(?!\d+$)[A-Za-z0-9_-]{5,20}$/;
const MOBILE = /^1[3-9]\d{9}$/;
const SMS_CODE = /^\d{6}$/;
const passwordOk = (p) => [...p].length >= 8 && [...p].length <= 64;

// Typing into a field clears its error.
document.querySelectorAll("input").forEach((input) => input.addEventListener("input", () => {
  show(document.querySelector(`.error[data-for="${input.id}"]`), null);
}));

/** Counts `button` down for `seconds`, labelled by `key` ({n} seconds left), then restores `doneKey`. */
function countdown(button, seconds, key, doneKey) {
  clearInterval(button.timer);
  const end = Date.now() + Math.max(1, Math.round(seconds)) * 1000;
  button.disabled = true;
  const tick = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(button.timer);
      button.disabled = false;
      button.relabel = () => t(doneKey);
    } else {
      button.relabel = () => (left < 600 ? t(key, { n: left }) : t(`${key}_long`, { d: duration(left) }));
    }
    button.textContent = button.relabel();
  };
  tick();
  button.timer = setInterval(tick, 1000);
}
function stopCountdown(button, doneKey) {
  clearInterval(button.timer);
  button.disabled = false;
  button.relabel = () => t(doneKey);
  button.textContent = button.relabel();
}

// ---------------------------------------------------------------------------
// The captcha and SMS code part of a form, for one purpose of the code.

const widgets = [];
class SmsCode {
  constructor(form, purpose) {
    this.form = form;
    this.purpose = purpose;
    const p = prefixOf(form);
    this.mobile = $(`${p}mobile`);
    this.image = $(`${p}captcha`);
    this.imageCode = $(`${p}image_code`);
    this.send = $(`${p}send`);
    this.captchaId = "";
    /** The id the API gave the last code it sent; the form sends it back. */
    this.smsCodeId = "";
    this.image.addEventListener("click", () => this.newCaptcha());
    $(`${p}refresh`).addEventListener("click", () => { this.newCaptcha(); this.imageCode.focus(); });
    this.send.addEventListener("click", () => this.request());
    widgets.push(this);
  }

  relabel() { if (this.send.relabel) this.send.textContent = this.send.relabel(); }

  newCaptcha() {
    this.captchaId = crypto.randomUUID();
    this.image.src = `${BASE}/image_codes/${this.captchaId}/`;
    this.imageCode.value = "";
  }
  /** A picture the first time the form shows, so hidden forms spend none. */
  ensureCaptcha() { if (!this.captchaId) this.newCaptcha(); }

  reset() { this.smsCodeId = ""; this.captchaId = ""; stopCountdown(this.send, "send"); }

  async request() {
    const form = this.form;
    clearErrors(form);
    const mobile = this.mobile.value.trim();
    const imageCode = this.imageCode.value.trim();
    if (!check(form, [["mobile", MOBILE.test(mobile), "need_mobile"], ["image_code", imageCode !== "", "need_image_code"]])) return;
    const query = new URLSearchParams({ image_code: imageCode, image_code_id: this.captchaId, purpose: this.purpose });
    this.send.disabled = true;
    const answer = await api("GET", `/sms_codes/${encodeURIComponent(mobile)}/?${query}`);
    this.send.disabled = false;
    const wait = retryAfter(answer);
    if (answer.status === 200) {
      if (typeof answer.body.sms_code_id === "string") this.smsCodeId = answer.body.sms_code_id;
      // The code's validity only when the server says it; the wait before another only from the server.
      const valid = answer.body.expires_in;
      notice(noticeOf(form), Number.isFinite(valid) && valid > 0 ? () => t("code_valid", { d: duration(valid) }) : () => t("code_sent"), "ok");
      if (wait) countdown(this.send, wait, "resend_in", "resend"); else stopCountdown(this.send, "resend");
      $(`${prefixOf(form)}sms_code`).focus();
    } else {
      // A 429, or a 502 whose outcome is unknown, says how long the cooldown holds.
      if (wait) countdown(this.send, wait, "resend_in", "send");
      showError(form, answer, { countdownShown: Boolean(wait) });
    }
    // Every attempt spends the picture: show a new one.
    this.newCaptcha();
  }
}

// ---------------------------------------------------------------------------
// Views.

const registerCode = new SmsCode($("form"), "register");
const loginCode = new SmsCode($("login-form"), "login");
const resetCode = new SmsCode($("reset-form"), "reset");
const closeCode = new SmsCode($("close-form"), "close");
const newNumberCode = new SmsCode($("mobile-form"), "change_mobile");
const oldNumberCode = new SmsCode($("mobile-sms-fields"), "change_mobile_old");

/** Shows one logged-out form: "register", "login" or "reset". */
function showView(name) {
  view = name;
  $("signup").hidden = false;
  $("welcome").hidden = true;
  $("form").hidden = name !== "register";
  $("login-form").hidden = name !== "login";
  $("reset-form").hidden = name !== "reset";
  $("tab-register").setAttribute("aria-selected", String(name === "register"));
  $("tab-login").setAttribute("aria-selected", String(name !== "register"));
  if (name === "register") registerCode.ensureCaptcha();
  if (name === "login" && loginBySms) loginCode.ensureCaptcha();
  if (name === "reset") resetCode.ensureCaptcha();
  applyLanguage();
}
$("tab-register").addEventListener("click", () => showView("register"));
$("tab-login").addEventListener("click", () => showView("login"));
$("forgot").addEventListener("click", () => {
  // Carry a typed mobile number over.
  const account = $("login-account").value.trim();
  if (MOBILE.test(account) && !$("reset-mobile").value) $("reset-mobile").value = account;
  showView("reset");
});
$("reset-back").addEventListener("click", () => showView("login"));

/** A two-way switch (password / SMS code) inside a form. */
function modeSwitch(prefix, onChange) {
  const byPassword = $(`${prefix}by-password`);
  const bySms = $(`${prefix}by-sms`);
  const set = (sms) => {
    byPassword.setAttribute("aria-pressed", String(!sms));
    bySms.setAttribute("aria-pressed", String(sms));
    $(`${prefix}password-fields`).hidden = sms;
    $(`${prefix}sms-fields`).hidden = !sms;
    clearErrors($(`${prefix}form`));
    onChange(sms);
  };
  byPassword.addEventListener("click", () => set(false));
  bySms.addEventListener("click", () => set(true));
}
let loginBySms = false;
/** Whether the API asked this password login for a captcha (429 captcha_required). */
let loginCaptchaAsked = false;
function showLoginFields() {
  $("login-sms-code-fields").hidden = !loginBySms;
  $("login-captcha-fields").hidden = !loginBySms && !loginCaptchaAsked;
  if (!$("login-captcha-fields").hidden) loginCode.ensureCaptcha();
}
modeSwitch("login-", (sms) => { loginBySms = sms; showLoginFields(); });
let closeBySms = false;
modeSwitch("close-", (sms) => { closeBySms = sms; if (sms) closeCode.ensureCaptcha(); });
let mobileBySms = false;
modeSwitch("mobile-", (sms) => { mobileBySms = sms; if (sms) oldNumberCode.ensureCaptcha(); });

function formatTime(seconds) {
  if (!Number.isFinite(seconds)) return "";
  return new Date(seconds * 1000).toLocaleString(lang === "zh" ? "zh-CN" : "en", { dateStyle: "medium", timeStyle: "short" });
}

/** Shows the logged-in panel or the logged-out forms, as the API says. */
async function checkSession(loggedOutView = view === "welcome" ? "login" : view) {
  const { status, body } = await api("GET", "/session");
  if (status === 200) {
    view = "welcome";
    $("signup").hidden = true;
    $("welcome").hidden = false;
    $("close-form").hidden = true;
    $("close-open").hidden = false;
    $("mobile-form").hidden = true;
    $("mobile-open").hidden = false;
    $("who").textContent = body.username ?? "";
    $("who-mobile").textContent = body.mobile ?? "";
    const { created_at: from, expires_at: until } = body;
    show($("session-times"), Number.isFinite(from) && Number.isFinite(until)
      ? () => t("session_times", { from: formatTime(from), until: formatTime(until) }) : null);
    applyLanguage();
  } else {
    showView(loggedOutView);
  }
}

/** Back to the logged-out page after the session ended, with `key` said above the forms. */
async function loggedOut(key) {
  for (const form of document.querySelectorAll("form")) { form.reset(); clearErrors(form); }
  for (const widget of widgets) widget.reset();
  stopCountdown($("login-submit"), "login_submit");
  await checkSession("login");
  show($("out-notice"), key ? () => t(key) : null);
}

// Carrier one-tap, where the API has a stand-in carrier: it issues the token
// the carrier's SDK would, for the number typed. A number without an account
// comes back with a signup ticket, which the sign-up form sends instead of
// an SMS code.
let signupTicket = null;
function setTicket(ticket, mobile) {
  signupTicket = ticket ? { ticket, mobile } : null;
  $("register-code-fields").hidden = Boolean(ticket);
  $("ticket-note").hidden = !ticket;
  if (ticket) $("mobile").value = mobile;
}
$("mobile").addEventListener("input", () => { if (signupTicket && $("mobile").value.trim() !== signupTicket.mobile) setTicket(null); });
(async () => {
  const probe = await api("GET", "/_stand_in_carrier");
  $("one-tap").hidden = probe.status !== 200;
})();
$("one-tap-button").addEventListener("click", async () => {
  const mobile = $("one-tap-mobile").value.trim();
  if (!MOBILE.test(mobile)) { notice($("one-tap-notice"), () => t("need_mobile"), "bad"); return; }
  notice($("one-tap-notice"), null);
  const issued = await api("POST", "/_stand_in_carrier/token", { mobile });
  if (issued.status !== 200) { notice($("one-tap-notice"), () => refusal(issued), "bad"); return; }
  const answer = await api("POST", "/one_tap_login/", { token: issued.body.token });
  if (answer.status !== 200) { notice($("one-tap-notice"), () => refusal(answer), "bad"); return; }
  if (answer.body.signup_ticket) {
    showView("register");
    setTicket(answer.body.signup_ticket, mobile);
    $("username").focus();
  } else {
    $("one-tap-mobile").value = "";
    await checkSession();
  }
});

// Sign up.
$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const body = {
    username: $("username").value.trim(), password: $("password").value, password2: $("password2").value,
    mobile: $("mobile").value.trim(), sms_code: $("sms_code").value.trim(), allow: $("allow").checked,
  };
  const ticket = signupTicket && signupTicket.mobile === body.mobile ? signupTicket.ticket : null;
  if (ticket) { delete body.sms_code; body.signup_ticket = ticket; }
  if (!check(form, [
    ["username", USERNAME.test(body.username), "need_username"],
    ["password", passwordOk(body.password), "need_password"],
    ["password2", body.password2 === body.password, "need_password2"],
    ["mobile", MOBILE.test(body.mobile), "need_mobile"],
    ["sms_code", Boolean(ticket) || SMS_CODE.test(body.sms_code), "need_sms_code"],
    ["allow", body.allow, "need_allow"],
  ])) return;
  if (!ticket && registerCode.smsCodeId) body.sms_code_id = registerCode.smsCodeId;
  const answer = await api("POST", "/register/", body);
  if (answer.status === 200) {
    setTicket(null);
    registerCode.reset();
    await checkSession();
  } else {
    if (answer.body.error === "signup_ticket_expired") setTicket(null);
    showError(form, answer);
  }
});

// Log in, with a password or an SMS code.
$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  let answer;
  if (loginBySms) {
    const body = { mobile: $("login-mobile").value.trim(), sms_code: $("login-sms_code").value.trim(), sms_code_id: loginCode.smsCodeId };
    if (!check(form, [["mobile", MOBILE.test(body.mobile), "need_mobile"], ["sms_code", SMS_CODE.test(body.sms_code), "need_sms_code"]])) return;
    answer = await api("POST", "/sms_login/", body);
  } else {
    const body = { account: $("login-account").value.trim(), password: $("login-password").value };
    const checks = [["account", body.account !== "", "need_account"], ["password", body.password !== "", "need_current_password"]];
    if (loginCaptchaAsked) {
      body.image_code = $("login-image_code").value.trim();
      body.image_code_id = loginCode.captchaId;
      checks.push(["image_code", body.image_code !== "", "need_image_code"]);
    }
    if (!check(form, checks)) return;
    answer = await api("POST", "/login/", body);
    // A captcha is judged once: every attempt that carried one spends it.
    if (loginCaptchaAsked) loginCode.newCaptcha();
    if (answer.body.error === "captcha_required") {
      // Never a lock-out: the same login with the picture's characters goes through.
      loginCaptchaAsked = true;
      showLoginFields();
      $("login-image_code").focus();
    }
  }
  if (answer.status === 200) {
    form.reset();
    loginCode.reset();
    loginCaptchaAsked = false;
    showLoginFields();
    await checkSession();
    return;
  }
  const wait = answer.body.error === "login_ip_limit" ? retryAfter(answer) : null;
  if (wait) countdown($("login-submit"), wait, "try_again_in", "login_submit");
  showError(form, answer, { countdownShown: Boolean(wait) || answer.body.error === "captcha_required" });
});

// Forgot password: a code to the number, a new password, logged in.
$("reset-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const body = {
    mobile: $("reset-mobile").value.trim(), sms_code: $("reset-sms_code").value.trim(), sms_code_id: resetCode.smsCodeId,
    password: $("reset-password").value, password2: $("reset-password2").value,
  };
  if (!check(form, [
    ["mobile", MOBILE.test(body.mobile), "need_mobile"],
    ["sms_code", SMS_CODE.test(body.sms_code), "need_sms_code"],
    ["password", passwordOk(body.password), "need_password"],
    ["password2", body.password2 === body.password, "need_password2"],
  ])) return;
  const answer = await api("POST", "/password_reset/", body);
  if (answer.status === 200) {
    form.reset();
    resetCode.reset();
    await checkSession();
    notice($("welcome-notice"), () => t("password_reset_done"), "ok");
  } else {
    showError(form, answer);
  }
});

// The logged-in panel.
$("logout").addEventListener("click", async () => {
  await api("DELETE", "/session");
  await loggedOut("logged_out");
});
$("logout-all").addEventListener("click", async () => {
  const answer = await api("DELETE", "/sessions");
  if (answer.status === 200 || answer.body.error === "not_logged_in") await loggedOut(answer.status === 200 ? "logged_out_all" : "session_over");
  else notice($("welcome-notice"), () => refusal(answer), "bad");
});
// Change the mobile number.
$("mobile-open").addEventListener("click", () => {
  $("mobile-form").hidden = false;
  $("mobile-open").hidden = true;
  notice($("welcome-notice"), null);
  newNumberCode.ensureCaptcha();
  if (mobileBySms) oldNumberCode.ensureCaptcha();
  $("mobile-mobile").focus();
});
$("mobile-cancel").addEventListener("click", () => {
  $("mobile-form").reset();
  clearErrors($("mobile-form"));
  $("mobile-form").hidden = true;
  $("mobile-open").hidden = false;
});
$("mobile-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const body = { mobile: $("mobile-mobile").value.trim(), sms_code: $("mobile-sms_code").value.trim(), sms_code_id: newNumberCode.smsCodeId };
  const rules = [["mobile", MOBILE.test(body.mobile), "need_mobile"], ["sms_code", SMS_CODE.test(body.sms_code), "need_sms_code"]];
  if (mobileBySms) {
    body.old_sms_code = $("mobile-old-sms_code").value.trim();
    body.old_sms_code_id = oldNumberCode.smsCodeId;
    rules.push(["old-sms_code", SMS_CODE.test(body.old_sms_code), "need_sms_code"]);
  } else {
    body.password = $("mobile-password").value;
    rules.push(["password", body.password !== "", "need_current_password"]);
  }
  if (!check(form, rules)) return;
  const answer = await api("POST", "/account/mobile/", body);
  if (answer.status === 200) {
    form.reset();
    newNumberCode.reset();
    oldNumberCode.reset();
    await checkSession();
    notice($("welcome-notice"), () => t("mobile_changed"), "ok");
  } else if (answer.body.error === "not_logged_in") {
    await loggedOut("session_over");
  } else {
    // Each code is judged once: after a refusal the server asks for a new one (sms_code_expired).
    showError(form, answer);
  }
});

$("close-open").addEventListener("click", () => {
  $("close-form").hidden = false;
  $("close-open").hidden = true;
  notice($("welcome-notice"), null);
  if (closeBySms) closeCode.ensureCaptcha();
  $(closeBySms ? "close-mobile" : "close-password").focus();
});
$("close-cancel").addEventListener("click", () => {
  $("close-form").reset();
  clearErrors($("close-form"));
  $("close-form").hidden = true;
  $("close-open").hidden = false;
});
$("close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  let body;
  if (closeBySms) {
    body = { sms_code: $("close-sms_code").value.trim(), sms_code_id: closeCode.smsCodeId };
    if (!check(form, [["sms_code", SMS_CODE.test(body.sms_code), "need_sms_code"]])) return;
  } else {
    body = { password: $("close-password").value };
    if (!check(form, [["password", body.password !== "", "need_current_password"]])) return;
  }
  const answer = await api("DELETE", "/account", body);
  if (answer.status === 200) await loggedOut("account_closed");
  else if (answer.body.error === "not_logged_in") await loggedOut("session_over");
  else showError(form, answer);
});

applyLanguage();
checkSession("register");
