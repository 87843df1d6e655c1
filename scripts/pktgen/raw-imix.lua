-- Pktgen-DPDK 23.06: routed through the west appliance in the clear (no tunnel), IMIX 7:4:1 of 64/570/1420-byte frames.
--   pktgen -l 0-2 -n 4 -- -P -m "[1].0, [2].1" -f scripts/pktgen/raw-imix.lua   (docs/PKTGEN.md)
-- See portcullis.lua for the addresses and the environment, docs/PKTGEN.md for the setups.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
dofile(dir .. "portcullis.lua")
portcullis.run("raw", "imix")
