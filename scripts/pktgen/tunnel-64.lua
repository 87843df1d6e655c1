-- Pktgen-DPDK 23.06: cleartext into the west appliance's VTI tunnel (encrypted to ESP), 64-byte frames.
--   pktgen -l 0-2 -n 4 -- -P -m "[1].0, [2].1" -f scripts/pktgen/tunnel-64.lua   (docs/PKTGEN.md)
-- See portcullis.lua for the addresses and the environment, docs/PKTGEN.md for the setups.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
dofile(dir .. "portcullis.lua")
portcullis.run("tunnel", 64)
