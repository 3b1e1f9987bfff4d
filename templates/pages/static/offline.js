// 职称电子证书离线查验: verifies a certificate's QR payload (docs/qr-payload.md) with
// the signed key list and status list alone. No library beyond jsQR (camera fallback).
"use strict";
(function () {
  const KEYS_URL = "/.well-known/zc/keys";
  const STATUS_URL = "/.well-known/zc/status";
  const PREFIX = "ZC1:";
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const enc = new TextEncoder();
  const dec = new TextDecoder("utf-8", { fatal: true });
  const $ = (id) => document.getElementById(id);
  const LIST_KEY = JSON.parse(document.querySelector('meta[name="zc-list-key"]').content);

  // --- base45, base64url, hex --------------------------------------------------------
  function b45decode(text) {
    const out = [];
    for (let i = 0; i < text.length; i += 3) {
      const chunk = text.slice(i, i + 3);
      let n = 0;
      for (let j = chunk.length - 1; j >= 0; j--) {
        const v = B45.indexOf(chunk[j]);
        if (v < 0) throw new Error("不是 base45");
        n = n * 45 + v;
      }
      if (chunk.length === 3) {
        if (n > 0xffff) throw new Error("不是 base45");
        out.push(n >> 8, n & 0xff);
      } else if (chunk.length === 2) {
        if (n > 0xff) throw new Error("不是 base45");
        out.push(n);
      } else throw new Error("base45 长度不对");
    }
    return new Uint8Array(out);
  }
  function b64u(text) {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  function b64uEncode(bytes) {
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

  // --- a minimal CBOR reader (RFC 8949): what the payload uses, nothing more -----------
  function cborDecode(bytes) {
    let pos = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    function need(n) { if (pos + n > bytes.length) throw new Error("CBOR 截断"); }
    function length(info) {
      if (info < 24) return info;
      const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
      if (!size) throw new Error("CBOR 不定长");
      need(size);
      let n = 0;
      for (let i = 0; i < size; i++) n = n * 256 + bytes[pos + i];
      pos += size;
      if (n > Number.MAX_SAFE_INTEGER) throw new Error("CBOR 数值过大");
      return n;
    }
    function item(depth) {
      if (depth > 16) throw new Error("CBOR 嵌套过深");
      need(1);
      const head = bytes[pos++], major = head >> 5, info = head & 31;
      if (major === 7) {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        throw new Error("CBOR 简单值");
      }
      const n = length(info);
      switch (major) {
        case 0: return n;
        case 1: return -1 - n;
        case 2: need(n); pos += n; return bytes.slice(pos - n, pos);
        case 3: need(n); pos += n; return dec.decode(bytes.subarray(pos - n, pos));
        case 4: { const a = []; for (let i = 0; i < n; i++) a.push(item(depth + 1)); return a; }
        case 5: { const m = new Map(); for (let i = 0; i < n; i++) { const k = item(depth + 1); m.set(k, item(depth + 1)); } return m; }
        case 6: return { tag: n, value: item(depth + 1) };
      }
    }
    const value = item(0);
    if (pos !== bytes.length) throw new Error("CBOR 末尾有多余数据");
    void view;
    return value;
  }
  function cborHead(major, n) {
    if (n < 24) return [(major << 5) | n];
    if (n < 256) return [(major << 5) | 24, n];
    return [(major << 5) | 25, n >> 8, n & 0xff];
  }
  function sigStructure(protectedBytes, payload) {
    const context = enc.encode("Signature1");
    return new Uint8Array([
      0x84, ...cborHead(3, context.length), ...context,
      ...cborHead(2, protectedBytes.length), ...protectedBytes,
      0x40,
      ...cborHead(2, payload.length), ...payload,
    ]);
  }

  // --- signatures -----------------------------------------------------------------------
  async function verifyEs256(jwk, message, signature) {
    const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, message);
  }
  const VERIFIERS = { "-7": verifyEs256 };  // COSE alg → verifier; SM2 adds its own
  const ALG_NAMES = { "-7": "ES256" };

  async function verifyList(doc, typ) {
    const header = JSON.parse(dec.decode(b64u(doc.protected)));
    if (header.typ !== typ || header.alg !== "ES256") throw new Error("列表类型不对");
    const ok = await verifyEs256(LIST_KEY, enc.encode(doc.protected + "." + doc.payload), b64u(doc.signature));
    if (!ok) throw new Error("列表签名无效");
    return JSON.parse(dec.decode(b64u(doc.payload)));
  }

  // --- lists: from the network when it answers, else the copies kept here ----------------
  const lists = { keys: null, status: null };
  async function loadList(url, typ, name) {
    let doc = null;
    try {
      const response = await fetch(url, { cache: "no-store" });
      if (response.ok) { doc = await response.json(); localStorage.setItem(name, JSON.stringify(doc)); }
    } catch (e) { /* offline: the kept copy below */ }
    if (doc === null) { const kept = localStorage.getItem(name); doc = kept ? JSON.parse(kept) : null; }
    return doc ? verifyList(doc, typ) : null;
  }
  async function loadLists() {
    try {
      lists.keys = await loadList(KEYS_URL, "zc-keys+jws", "zc-keys");
      lists.status = await loadList(STATUS_URL, "zc-status+jws", "zc-status");
    } catch (e) { $("lists").textContent = "列表无法使用：" + e.message; return; }
    showListAge();
  }
  function age(iso) {
    const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
    if (minutes < 60) return minutes + " 分钟前";
    if (minutes < 2880) return Math.round(minutes / 60) + " 小时前";
    return Math.round(minutes / 1440) + " 天前";
  }
  function showListAge() {
    const parts = [];
    parts.push(lists.keys ? `密钥列表 ${lists.keys.keys.length} 个密钥，更新于 ${age(lists.keys.iat)}` : "没有密钥列表");
    parts.push(lists.status ? `状态列表更新于 ${age(lists.status.iat)}，有效期至 ${lists.status.valid_until.slice(0, 16).replace("T", " ")}` : "没有状态列表");
    $("lists").textContent = parts.join("；");
    $("lists").dataset.ready = lists.keys && lists.status ? "yes" : "no";
  }

  // --- the check ---------------------------------------------------------------------------
  const FIELDS = [[2, "证书编号"], [-1, "版本"], [-2, "姓名"], [-3, "系列"], [-4, "专业"], [-5, "资格名称"],
    [-6, "级别"], [-7, "评委会代码"], [1, "发证机关代码"], [-8, "取得资格时间"], [-9, "发证日期"]];
  function dateOf(value) {
    if (!value || value.tag !== 100 || typeof value.value !== "number") throw new Error("日期格式不对");
    return new Date(value.value * 86400000).toISOString().slice(0, 10);
  }
  function payloadOf(text) {
    text = text.trim();
    if (text.includes("#")) text = text.slice(text.indexOf("#") + 1).replace(/%(20|25)/g, (m, c) => (c === "20" ? " " : "%"));
    if (!text.startsWith(PREFIX)) throw new Error("不是离线查验码（缺少 ZC1: 前缀）");
    return text.slice(PREFIX.length);
  }
  async function check(text) {
    let cose, claims;
    try {
      cose = cborDecode(b45decode(payloadOf(text)));
      if (cose && cose.tag === 18) cose = cose.value;
      if (!Array.isArray(cose) || cose.length !== 4) throw new Error("不是 COSE_Sign1");
      claims = cborDecode(cose[2]);
    } catch (e) { return { verdict: "无效", reason: "二维码内容已损坏：" + e.message }; }
    const header = cborDecode(cose[0]);
    const alg = header.get(1), kid = b64uEncode(header.get(4));
    if (!lists.keys) return { verdict: "无效", reason: "没有密钥列表，请联网更新" };
    const key = lists.keys.keys.find((k) => k.kid === kid);
    if (!key) return { verdict: "无效", reason: "签名密钥不在密钥列表中" };
    const verifier = VERIFIERS[String(alg)];
    if (!verifier || key.alg !== ALG_NAMES[String(alg)]) return { verdict: "无效", reason: "不支持的签名算法" };
    if (!(await verifier(key.jwk, sigStructure(cose[0], cose[2]), cose[3]))) {
      return { verdict: "无效", reason: "签名不符：内容被改动或并非发证机关签发" };
    }
    const facts = FIELDS.map(([k, label]) => [label, k === -8 || k === -9 ? dateOf(claims.get(k)) : String(claims.get(k))]);
    if (key.org !== claims.get(1)) return { verdict: "无效", reason: "签名密钥不属于发证机关", facts };
    const issued = dateOf(claims.get(-9));
    if (key.invalidated_after && issued >= key.invalidated_after) {
      return { verdict: "无效", reason: `签名密钥自 ${key.invalidated_after} 起作废`, facts };
    }
    if (!lists.status || Date.now() > Date.parse(lists.status.valid_until)) {
      return { verdict: "状态列表已过期，请联网更新", reason: "签名有效，但无法确认证书是否已被撤销", facts };
    }
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(`${claims.get(2)}/${claims.get(-1)}`)));
    const entry = hex(digest.slice(0, 8));
    if (lists.status.revoked.includes(entry)) return { verdict: "已撤销", reason: "此证书已被撤销", facts };
    if (lists.status.superseded.includes(entry)) return { verdict: "已换发", reason: "此版本已换发新证书", facts };
    return { verdict: "有效", reason: "签名有效，未被撤销", facts };
  }
  function show(result) {
    $("result").hidden = false;
    $("verdict").textContent = result.verdict;
    $("verdict").dataset.verdict = result.verdict;
    $("reason").textContent = result.reason + (lists.status ? `（状态列表更新于 ${age(lists.status.iat)}）` : "");
    const facts = $("facts");
    facts.replaceChildren();
    for (const [label, value] of result.facts || []) {
      const dt = document.createElement("dt"); dt.textContent = label;
      const dd = document.createElement("dd"); dd.textContent = value;
      facts.append(dt, dd);
    }
  }
  async function checkAndShow(text) {
    try { show(await check(text)); } catch (e) { show({ verdict: "无效", reason: e.message }); }
  }

  // --- camera: BarcodeDetector where there is one, else jsQR on video frames ---------------
  async function scan() {
    const video = $("camera");
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream; video.hidden = false; await video.play();
    const detector = "BarcodeDetector" in window ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    const canvas = document.createElement("canvas"), ctx = canvas.getContext("2d", { willReadFrequently: true });
    const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.hidden = true; };
    const frame = async () => {
      let text = null;
      if (detector) {
        const found = await detector.detect(video); text = found.length ? found[0].rawValue : null;
      } else if (video.videoWidth) {
        canvas.width = video.videoWidth; canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0);
        const found = window.jsQR(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
        text = found ? found.data : null;
      }
      if (text) { stop(); $("code").value = text; checkAndShow(text); } else requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  $("paste-form").addEventListener("submit", (event) => { event.preventDefault(); checkAndShow($("code").value); });
  $("refresh").addEventListener("click", loadLists);
  $("scan").addEventListener("click", () => scan().catch((e) => show({ verdict: "无法使用摄像头", reason: e.message })));
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/verify/offline/sw.js", { scope: "/verify/offline" }).catch(() => {});
  }
  loadLists();
})();
