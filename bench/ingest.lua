-- wrk script of bench/ingest.py: POSTs varied, valid Kartra webhook bodies and counts statuses.
--
--   wrk -t2 -c8 -d10s -s bench/ingest.lua http://127.0.0.1:PORT/webhooks/kartra/TOKEN/ \
--       -- ROUND LEADS TAGS LISTS
--
-- Bodies have the shape of tests/events/payloads.py (the 44-key lead block of Kartra's
-- list_subscription example, ids as strings): assign_tag, unassign_tag, list_subscription and
-- list_unsubscription for LEADS distinct leads (Kartra ids 7000001..., email
-- lead<id>@example.com), TAGS tags and LISTS lists. The lead's company field,
-- "bench round R thread T #N", makes every body unique (no probable duplicates) and names the
-- round. done() prints "wrk:<name> <value>" lines for bench/ingest.py to read.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local round, leads, tags, lists = 0, 3000, 40, 12
local sent = 0
statuses = {}

function init(args)
  round = tonumber(args[1]) or round
  leads = tonumber(args[2]) or leads
  tags = tonumber(args[3]) or tags
  lists = tonumber(args[4]) or lists
  math.randomseed(round * 7919 + thread_id)
end

local LEAD = [[{"id": "%d", "first_name": "John", "middle_name": "Doe", "last_name": "Doe", ]]
  .. [["last_name2": "Doe", "email": "lead%d@example.com", "phone_country_code": "+1", ]]
  .. [["phone": "1234567", "company": "%s", "address": "address", "city": "New York", ]]
  .. [["zip": "1234", "state": "state", "country": "United States", ]]
  .. [["date_joined": "2018-04-26 00:00:00", "website": "http://www.example.com", ]]
  .. [["ip": "127.0.0.1", "ip_country": "United States", "facebook": "facebook", ]]
  .. [["twitter": "twitter", "linkedin": "linkedin", "google_plus": "google_plus", ]]
  .. [["sales_tax_id": "1234", "lead_picture": "http://www.example.com", "source": "0", ]]
  .. [["score": "0", "lead_deleted": "0", "lead_deleted_date": "0000-00-00 00:00:00", ]]
  .. [["referring_id": "0", "blacklisted": "0", "source_id": "0", "gdpr_lead_status": 1, ]]
  .. [["gdpr_lead_status_date": "2018-04-26 00:00:00", "gdpr_lead_status_ip": "127.0.0.1", ]]
  .. [["gdpr_lead_communications": 0, "custom_fields": [{"field_id": "323", ]]
  .. [["field_identifier": "color", "field_type": "checkbox", "field_value": []]
  .. [[{"option_id": "1", "option_value": "red"}, {"option_id": "2", "option_value": "blue"}]}, ]]
  .. [[{"field_id": "325", "field_identifier": "favorite_dish", "field_type": "input_field", ]]
  .. [["field_value": "beef lasagna"}]}]]
local TAG = [[{"tag": {"tag_id": "%d", "tag_name": "Tag %d"}}]]
local LIST = [[{"list": {"list_id": "%d", "list_name": "List %d"}}]]
local BODY = [[{"lead": %s, "action": "%s", "action_details": %s}]]
local HEADERS = { ["Content-Type"] = "application/json", ["User-Agent"] = "Kartra" }

function request()
  sent = sent + 1
  local lead = 7000000 + math.random(leads)
  local company = string.format("bench round %d thread %d #%d", round, thread_id, sent)
  local pick = math.random(10)
  local action, details
  if pick <= 4 then
    local tag = math.random(tags)
    action, details = "assign_tag", string.format(TAG, 100 + tag, tag)
  elseif pick <= 6 then
    local tag = math.random(tags)
    action, details = "unassign_tag", string.format(TAG, 100 + tag, tag)
  elseif pick <= 9 then
    local list = math.random(lists)
    action, details = "list_subscription", string.format(LIST, 200 + list, list)
  else
    local list = math.random(lists)
    action, details = "list_unsubscription", string.format(LIST, 200 + list, list)
  end
  local body = string.format(BODY, string.format(LEAD, lead, lead, company), action, details)
  return wrk.format("POST", nil, HEADERS, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local ok, other = 0, {}
  for status, n in pairs(counts) do
    if status >= 200 and status < 300 then
      ok = ok + n
    else
      table.insert(other, status .. "x" .. n)
    end
  end
  local errors = summary.errors
  io.write(string.format("wrk:duration_us %d\n", summary.duration))
  io.write(string.format("wrk:responses %d\n", summary.requests))
  io.write(string.format("wrk:ok %d\n", ok))
  io.write(string.format("wrk:other %s\n", table.concat(other, ",")))
  io.write(string.format("wrk:p50_us %d\n", latency:percentile(50)))
  io.write(string.format("wrk:p99_us %d\n", latency:percentile(99)))
  io.write(string.format("wrk:max_us %d\n", latency.max))
  io.write(string.format("wrk:socket_errors connect=%d,read=%d,write=%d,timeout=%d\n",
    errors.connect, errors.read, errors.write, errors.timeout))
end
