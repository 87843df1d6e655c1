#include "dataplane/esp/mbuf_chain.h"

#include <algorithm>
#include <cstring>

namespace portcullis::dp::esp {

bool CopyOut(const rte_mbuf* m, uint32_t off, uint32_t len, uint8_t* dst) {
  if (uint64_t{off} + len > m->pkt_len) return false;
  for (const rte_mbuf* s = m; s != nullptr && len > 0; s = s->next) {
    if (off >= s->data_len) {
      off -= s->data_len;
      continue;
    }
    uint32_t n = std::min<uint32_t>(len, s->data_len - off);
    std::memcpy(dst, rte_pktmbuf_mtod_offset(s, const uint8_t*, off), n);
    dst += n;
    len -= n;
    off = 0;
  }
  return len == 0;
}

bool CopyIn(rte_mbuf* m, uint32_t off, uint32_t len, const uint8_t* src) {
  if (uint64_t{off} + len > m->pkt_len) return false;
  for (rte_mbuf* s = m; s != nullptr && len > 0; s = s->next) {
    if (off >= s->data_len) {
      off -= s->data_len;
      continue;
    }
    uint32_t n = std::min<uint32_t>(len, s->data_len - off);
    std::memcpy(rte_pktmbuf_mtod_offset(s, uint8_t*, off), src, n);
    src += n;
    len -= n;
    off = 0;
  }
  return len == 0;
}

bool TrimTo(rte_mbuf* m, uint32_t len) {
  if (len > m->pkt_len) return false;
  uint32_t left = len;
  rte_mbuf* s = m;
  uint16_t segs = 0;
  while (true) {
    ++segs;
    if (left <= s->data_len || s->next == nullptr) {
      s->data_len = static_cast<uint16_t>(left);
      break;
    }
    left -= s->data_len;
    s = s->next;
  }
  if (s->next != nullptr) {
    rte_pktmbuf_free(s->next);
    s->next = nullptr;
  }
  m->nb_segs = segs;
  m->pkt_len = len;
  return true;
}

bool GrowTo(rte_mbuf* m, uint32_t len) {
  if (len <= m->pkt_len) return TrimTo(m, len);
  uint32_t need = len - m->pkt_len;
  rte_mbuf* last = rte_pktmbuf_lastseg(m);
  while (need > 0) {
    uint16_t room = rte_pktmbuf_tailroom(last);
    if (room == 0) {
      rte_mbuf* seg = rte_pktmbuf_alloc(m->pool);
      if (seg == nullptr) return false;
      last->next = seg;
      last = seg;
      ++m->nb_segs;
      continue;
    }
    uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(room, need));
    last->data_len += n;
    m->pkt_len += n;
    need -= n;
  }
  return true;
}

rte_mbuf* PrependSpace(rte_mbuf* m, uint16_t len) {
  if (rte_pktmbuf_headroom(m) >= len) {
    rte_pktmbuf_prepend(m, len);
    return m;
  }
  rte_mbuf* head = rte_pktmbuf_alloc(m->pool);
  if (head == nullptr) return nullptr;
  if (rte_pktmbuf_tailroom(head) < len) {
    rte_pktmbuf_free(head);
    return nullptr;
  }
  head->data_len = len;
  head->pkt_len = len + m->pkt_len;
  head->nb_segs = static_cast<uint16_t>(m->nb_segs + 1);
  head->next = m;
  head->port = m->port;
  head->ol_flags = m->ol_flags;
  head->packet_type = m->packet_type;
  head->hash = m->hash;
  // The old head's packet-level fields no longer matter: it is a middle segment now.
  m->pkt_len = m->data_len;
  m->nb_segs = 1;
  return head;
}

}  // namespace portcullis::dp::esp
