-- wrk script for bench/ingest.sh: POSTs varied collection events to /api/event for the site
-- bench.example, the way footfall's tracker would behind a reverse proxy.
--
--   wrk -t2 -c64 -d20s -s bench/events.lua http://127.0.0.1:8000
--
-- Requests are built once per thread in init() and cycled through, so wrk spends its time on
-- HTTP, not on Lua. Each request varies the page (≈50 paths, some with utm_* parameters), the
-- referrer (search, social, other sites, self-referrals, none), the browser (Chrome, Firefox,
-- Safari, Edge; desktop and mobile), the viewport, and X-Forwarded-For (footfall must run with
-- --trusted-proxies 127.0.0.1/32 for that to count), so visitors and sessions differ as on a real
-- site. About one request in 25 is a custom event with props.
--
-- done() prints machine-readable key=value lines (see the end of this file). Every non-2xx/3xx
-- answer is also reported by wrk as "Non-2xx or 3xx responses"; status_other counts everything
-- but 202.
--
-- Optional script arguments (after `--`): number of requests precomputed per thread (default
-- 4096), distinct client IPs per thread (default 2000), and a number added to each thread's id
-- (default 0), so that several wrk processes at once (bench/scale.sh) send different visitors.

local DOMAIN = "bench.example"
local BASE = "https://" .. DOMAIN

local paths = {
  "/", "/", "/", "/", "/pricing", "/pricing", "/features", "/about", "/contact", "/docs",
  "/docs/getting-started", "/docs/install", "/docs/configuration", "/docs/api", "/docs/api/events",
  "/docs/api/stats", "/docs/faq", "/blog", "/blog", "/blog/launch", "/blog/privacy-first-analytics",
  "/blog/why-we-dropped-cookies", "/blog/sqlite-is-enough", "/blog/2024/year-in-review",
  "/blog/self-hosting-guide", "/blog/tags/rust", "/changelog", "/careers", "/careers/backend-engineer",
  "/legal/privacy", "/legal/terms", "/login", "/signup", "/signup/confirm", "/account",
  "/account/settings", "/account/billing", "/integrations", "/integrations/wordpress",
  "/integrations/nextjs", "/compare/google-analytics", "/customers", "/customers/acme",
  "/status", "/404", "/search?q=retention", "/blog?page=2", "/docs/api#authentication",
  "/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale",
  "/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=web+analytics",
  "/blog/launch?utm_source=twitter&utm_medium=social&utm_campaign=launch",
  "/features?utm_source=producthunt&utm_medium=referral&utm_content=banner",
  "/signup?utm_source=partner&utm_medium=affiliate&utm_campaign=q3&ref=abc123",
}

-- "" means no referrer (direct traffic): the field is left out. Self-referrals (internal
-- navigation) are common on a real site, so they appear several times.
local referrers = {
  "", "", "", "",
  "https://www.google.com/", "https://www.google.com/", "https://www.google.de/",
  "https://www.bing.com/search?q=privacy+analytics", "https://duckduckgo.com/",
  "https://news.ycombinator.com/", "https://news.ycombinator.com/item?id=4242",
  "https://www.reddit.com/r/selfhosted/comments/abc/footfall/", "https://t.co/xyz123",
  "https://github.com/footfall/footfall", "https://l.facebook.com/",
  "https://www.linkedin.com/feed/", "android-app://com.google.android.gm/",
  BASE .. "/", BASE .. "/blog", BASE .. "/pricing", BASE .. "/docs",
}

local agents = {
  -- Chrome, desktop
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  -- Chrome, mobile
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
  -- Firefox, desktop and mobile
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
  "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
  -- Safari, desktop, iPhone, iPad
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  -- Edge, desktop and mobile
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0.2592.56",
  -- Samsung Internet
  "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
}

-- Viewport widths that go with desktop and mobile agents.
local desktop_widths = { 1280, 1366, 1440, 1536, 1920, 2560 }
local mobile_widths = { 360, 375, 390, 393, 412, 430, 768, 820 }

local custom_events = {
  '{"n":"Signup","u":"' .. BASE .. '/signup","d":"' .. DOMAIN .. '","p":{"plan":"pro"}}',
  '{"n":"Signup","u":"' .. BASE .. '/signup","d":"' .. DOMAIN .. '","p":{"plan":"free"}}',
  '{"n":"Download","u":"' .. BASE .. '/docs/install","d":"' .. DOMAIN .. '","w":1440,"p":{"file":"footfall-linux-amd64.tar.gz"}}',
  '{"n":"Outbound Link: Click","u":"' .. BASE .. '/integrations","d":"' .. DOMAIN .. '","p":{"url":"https://wordpress.org/plugins/footfall/"}}',
}

-- Per-thread state. The counters are globals because done() reads them with thread:get.
local requests = {}
local n_requests = 0
local next_request = 0
status_202 = 0
status_other = 0
others = {}

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local function pick(list)
  return list[math.random(#list)]
end

local function is_mobile(agent)
  return agent:find("Mobile", 1, true) ~= nil or agent:find("iPad", 1, true) ~= nil
end

-- A JSON string body needs no escaping here: every value above is plain ASCII without quotes or
-- backslashes.
local function pageview(path, referrer, width)
  local body = '{"n":"pageview","u":"' .. BASE .. path .. '","d":"' .. DOMAIN .. '"'
  if referrer ~= "" then
    body = body .. ',"r":"' .. referrer .. '"'
  end
  return body .. ',"w":' .. width .. "}"
end

function init(args)
  local per_thread = tonumber(args[1]) or 4096
  local ips_per_thread = tonumber(args[2]) or 2000
  local id = (thread_id or 1) + (tonumber(args[3]) or 0) -- thread_id: set by setup()
  math.randomseed(7919 * id + 17)

  -- Public-looking client addresses (only ever written into a header), disjoint between
  -- threads: thread 1 uses 11.x.x.x, thread 2 uses 12.x.x.x, and so on.
  local ips = {}
  for i = 1, ips_per_thread do
    ips[i] = string.format("%d.%d.%d.%d", 10 + id, math.random(0, 255), math.random(0, 255), (i % 254) + 1)
  end

  for i = 1, per_thread do
    local agent = pick(agents)
    local body
    if math.random(25) == 1 then
      body = pick(custom_events)
    else
      local width = is_mobile(agent) and pick(mobile_widths) or pick(desktop_widths)
      body = pageview(pick(paths), pick(referrers), width)
    end
    local headers = {
      ["Content-Type"] = (i % 3 == 0) and "application/json" or "text/plain",
      ["User-Agent"] = agent,
      ["X-Forwarded-For"] = ips[math.random(#ips)],
      ["Origin"] = BASE,
    }
    requests[i] = wrk.format("POST", "/api/event", headers, body)
  end
  n_requests = per_thread
  next_request = math.random(per_thread) - 1
end

function request()
  next_request = next_request % n_requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  if status == 202 then
    status_202 = status_202 + 1
  else
    status_other = status_other + 1
    others[status] = (others[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local ok, other = 0, 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("status_202") or 0)
    other = other + (thread:get("status_other") or 0)
    local t = thread:get("others")
    if t then
      for status, n in pairs(t) do
        by_status[status] = (by_status[status] or 0) + n
      end
    end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("status_202=%d\n", ok))
  io.write(string.format("status_other=%d\n", other))
  for status, n in pairs(by_status) do
    io.write(string.format("status_%d=%d\n", status, n))
  end
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("duration_s=%.3f\n", seconds))
  io.write(string.format("requests_per_s=%.1f\n", summary.requests / seconds))
  io.write(string.format("accepted_per_s=%.1f\n", ok / seconds))
  io.write(string.format("latency_p50_ms=%.3f\n", latency:percentile(50) / 1000))
  io.write(string.format("latency_p90_ms=%.3f\n", latency:percentile(90) / 1000))
  io.write(string.format("latency_p99_ms=%.3f\n", latency:percentile(99) / 1000))
  io.write(string.format("latency_p999_ms=%.3f\n", latency:percentile(99.9) / 1000))
  io.write(string.format("latency_max_ms=%.3f\n", latency.max / 1000))
  io.write(string.format("errors_connect=%d\nerrors_read=%d\nerrors_write=%d\nerrors_timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
end
