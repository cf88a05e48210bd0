-- wrk script for bench/run. Arguments (after `--`): MODE TOKEN NKEYS PREFIX BODY
--   MODE   write | read | mix (90% read, 10% write) | token | get (fixed path)
--   PREFIX path of the keys, e.g. /v1/secret/bench/k  (key i is PREFIX..i)
--   BODY   JSON body of a write (or of a token create)
-- Requests are pre-formatted once per thread; request() only picks one, so the Lua
-- cost per request is a table lookup. Key order is a per-thread stride over NKEYS.
-- done() prints one line `BENCHJSON {...}` that bench/run parses.

local threads = {}
local counter = 0
local reads, writes = {}, {}
local mode, nkeys

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   mode = args[1]
   local token = args[2]
   nkeys = tonumber(args[3])
   local prefix = args[4]
   local body = args[5]
   local h_get = { ["X-Vault-Token"] = token }
   local h_put = { ["X-Vault-Token"] = token, ["Content-Type"] = "application/json" }
   if mode == "token" then
      writes[0] = wrk.format("POST", "/v1/auth/token/create", h_put, body)
      nkeys = 1
   elseif mode == "get" then
      reads[0] = wrk.format("GET", prefix, h_get)
      nkeys = 1
   else
      for i = 0, nkeys - 1 do
         reads[i] = wrk.format("GET", prefix .. i, h_get)
         writes[i] = wrk.format("PUT", prefix .. i, h_put, body)
      end
   end
   -- spread threads over the key space
   counter = (tid or 0) * 7919
end

function request()
   counter = counter + 1
   local i = counter % nkeys
   if mode == "read" or mode == "get" then
      return reads[i]
   elseif mode == "mix" then
      if counter % 10 == 0 then return writes[i] end
      return reads[i]
   else
      return writes[i]
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
