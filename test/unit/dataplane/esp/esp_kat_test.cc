// The ESP engine against the draft-mcgrew-gcm-test-01 packets. Those vectors carry next header 1
// (they were written for transport mode), which tunnel mode refuses: so each packet must pass
// anti-replay, ICV (with the 8- or 12-byte ESN AAD) and the padding check, and only then be
// refused for its next header, with the decrypted payload equal to the published plaintext.
#include "test/unit/dataplane/esp/esp_test_util.h"

using namespace portcullis;
using namespace portcullis::dp::esp;
using namespace portcullis::dp::esp::testutil;
using test::Hex;

namespace {

struct PacketVector {
  const char* key;
  const char* salt;
  uint32_t spi;
  uint64_t seq;
  bool esn;
  const char* packet;  // ESP header .. ICV
  const char* plaintext;
};

const PacketVector kVectors[] = {
    {"4c80cdefbb5d10da906ac73c3613a634", "2e443b68", 0x00004321, 0x8765432100000000ull, true,
     "00004321000000004956ed7e3b244cfefecf537e729d5b07dc30df528dd22b76"
     "8d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d"
     "15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732459018148f6cbe72"
     "2fd04796562dfdb4",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
     "00000000045f736970045f756470037369700963796265726369747902646b00"
     "0021000101020201"},
    {"feffe9928665731c6d6a8f9467308308", "cafebabe", 0x0000a5f8, 0x0a, false,
     "0000a5f80000000afacedbaddecaf888deb22cd9b07c72c16e3a65beeb8df304"
     "a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642"
     "cfbb85a5b47e48a4ec3b9ba95d918bd183b70d3aa8bc6ee4c309e9d85a41ad4a",
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
     "0001000000000000037369700963796265726369747902646b00000100010001"},
    {"abbccddef00112233445566778899aababbccddef00112233445566778899aab", "11223344", 0x4a2cbfe3, 2,
     false,
     "4a2cbfe3000000020102030405060708ff425c9b724599df7a3bcd510194e00d"
     "6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99d"
     "ef842d8eb335f4eecfdbf831824b4c4915956c96",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
     "7002400020bf0000020405b40101040201020201"},
    {"3de09874b388e6491988d0c3607eae1f", "57690e43", 0x42f67e3f, 0x1010101010101010ull, true,
     "42f67e3f101010104e280000a2fca1a3fba2caa4853cf9f0f22cb10d86dd83b0"
     "fec75691cf1a04b00d1138ec9c35791765acbd8701ad79845bf9fe3fba487bc9"
     "1755e6662b4c8d0d1f5e22739530320ae0d731cc978ecafaeae88f00e80d6e48",
     "4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201"},
    {"abbccddef00112233445566778899aab", "decaf888", 0x00000100, 1, true,
     "0000010000000001cafedebaceface7418a6fd42f72cbf4ab2a2ea901f73d814"
     "e3e7f243d95412e1c349c1d2fbec168f9190feebaf2cb01984e65863965d7472"
     "b79da345e0e780191f0d2f0e0f496c226f2127b27db35724e7845d68651f57e6"
     "5f354f75ff17015769623436",
     "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
     "00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
     "9b6266c04722b14923010101"},
    {"abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74", 0x17405e67,
     0x156f3126dd0db99bull, true,
     "17405e67dd0db99b616e640169766563f2d69ecdbd5a0d5b8d5ef38bad4da58d"
     "1f278fde98ef67549d524a3018d9a57ff4d3a31ce673119e451626c2415771e3"
     "b7eebca614c89b35",
     "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602"
     "50101f646d540001"},
    {"7d773d00c144c525ac619d18c84a3f47", "d9664267", 0x335467ae, 0xffffffff, false,
     "335467aeffffffff43457e9182443bc6437f866bcb3f699fe9b0822bac961c45"
     "04bef270",
     "01020201"},
    {"6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961", "7475726e", 0x796b6963,
     0xffffffffffffffffull, true,
     "796b6963ffffffff333021696765746df97ab2aa356d8edce17644ac8c78e25d"
     "d24dedbb29ebf1b64a274b39b49c3a864cd3d78ca4ae68a32b42458fb57dbe82"
     "1dcc63b9d0937ba2945f669368661a329fb4c053",
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
     "65666768696a6b6c6d6e6f707172737401020201"},
};

template <class E, class B>
void RunVectors(E& engine) {
  for (const PacketVector& v : kVectors) {
    INFO("spi " << std::hex << v.spi);
    auto key = Hex(v.key), salt = Hex(v.salt), esp_bytes = Hex(v.packet), pt = Hex(v.plaintext);
    Algo algo{key.size() == 32 ? Cipher::kAesGcm256 : Cipher::kAesGcm128, Auth::kNone, ""};
    SaConfig c = Config(Direction::kInbound, algo, v.esn, false, AF_INET, v.spi);
    std::memcpy(c.enc_key, key.data(), key.size());
    std::memcpy(c.salt, salt.data(), 4);
    c.replay_window = 64;
    c.initial_seq = v.seq - 1;  // the window sits just below the vector's number
    SaPtr sa = MakeSa<B>(c);
    std::vector<uint8_t> pkt(20);
    pkt[0] = 0x45;
    pkt[2] = static_cast<uint8_t>((20 + esp_bytes.size()) >> 8);
    pkt[3] = static_cast<uint8_t>(20 + esp_bytes.size());
    pkt[8] = 64;
    pkt[9] = 50;
    pkt.insert(pkt.end(), esp_bytes.begin(), esp_bytes.end());
    rte_mbuf* m = test::MakePacket(pkt);
    CHECK(One(engine, *sa, m, false) == DropReason::kBadNextHeader);
    auto out = test::PacketBytes(m);
    std::vector<uint8_t> decrypted(out.begin() + 20 + 16, out.begin() + 20 + 16 + pt.size());
    CHECK(test::ToHex(decrypted) == test::ToHex(pt));
    CHECK(sa->replay.top() == v.seq);  // the window moved: the ICV verified
    CHECK(sa->drop_count(DropReason::kAuthFailed) == 0);
    rte_pktmbuf_free(m);
  }
}

}  // namespace

TEST_CASE("engine (IPsec-MB) decrypts the draft-mcgrew-gcm-test packets", "[esp][kat]") {
  RunVectors<MbEngine, drivers::crypto::IpsecMbBackend>(Mb());
}

TEST_CASE("engine (OpenSSL) decrypts the draft-mcgrew-gcm-test packets", "[esp][kat]") {
  RunVectors<OsEngine, drivers::crypto::OpenSslBackend>(Os());
}
