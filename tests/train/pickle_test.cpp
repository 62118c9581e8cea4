// The pickle reader on its own: pickles spelled out byte by byte here (and
// three that Python's pickle.dumps wrote, copied in with the call that made
// them), read with and without hooks, and broken ones with their messages.
#include "train/pickle.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace inferbench::train::pickle {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;
using Kind = Value::Kind;

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

ValuePtr read(std::string_view pickle, const Hooks& hooks = {}) {
  const auto data = bytes_of(pickle);
  std::size_t pos = 0;
  ValuePtr v = load(Input{"t.pkl", "", data}, pos, hooks);
  EXPECT_EQ(pos, data.size()) << "the pickle ends at its STOP";
  return v;
}

// The message of the Error(kInput) that reading `pickle` throws.
std::string error_of(std::string_view pickle, const Hooks& hooks = {}, const std::string& where = "") {
  const auto data = bytes_of(pickle);
  std::size_t pos = 0;
  try {
    load(Input{"t.pkl", where, data}, pos, hooks);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(Pickle, Scalars) {
  EXPECT_EQ(read("\x80\x02N."sv)->kind, Kind::kNone);
  const auto t = read("\x80\x02\x88.");
  EXPECT_EQ(t->kind, Kind::kBool);
  EXPECT_EQ(t->i, 1);
  EXPECT_EQ(read("\x80\x02\x89.")->i, 0);
  EXPECT_EQ(read("\x80\x02K\xff.")->i, 255);                     // BININT1 is unsigned
  EXPECT_EQ(read("\x80\x02M\xff\xff.")->i, 65535);               // so is BININT2
  EXPECT_EQ(read("\x80\x02J\xfe\xff\xff\xff.")->i, -2);          // BININT is signed
  EXPECT_EQ(read("\x80\x02\x8a\x01\xff.")->i, -1);               // LONG1, sign-extended
  EXPECT_EQ(read("\x80\x02\x8a\x02\x00\x80."sv)->i, -32768);       //
  EXPECT_EQ(read("\x80\x02\x8a\x00."sv)->i, 0);                  // LONG1 of no bytes is 0
  EXPECT_EQ(read("\x80\x02\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80."sv)->i, INT64_MIN);
  EXPECT_EQ(read("\x80\x02\x8b\x02\x00\x00\x00\x34\x12."sv)->i, 0x1234);  // LONG4
  const auto big = read("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40."sv);
  EXPECT_EQ(big->kind, Kind::kBigInt);
  EXPECT_EQ(big->s, "\x00\x00\x00\x00\x00\x00\x00\x00\x40"s);
  const auto f = read("\x80\x02G\x40\x0c\x00\x00\x00\x00\x00\x00."sv);  // big-endian 3.5
  EXPECT_EQ(f->kind, Kind::kFloat);
  EXPECT_EQ(f->f, 3.5);
}

TEST(Pickle, StringsAndBytes) {
  for (const auto& [pickle, kind] : std::vector<std::pair<std::string_view, Kind>>{
           {"\x80\x02X\x02\x00\x00\x00\xc3\xa9."sv, Kind::kString},                  // BINUNICODE
           {"\x80\x04\x8c\x02\xc3\xa9."sv, Kind::kString},                           // SHORT_BINUNICODE
           {"\x80\x04\x8d\x02\x00\x00\x00\x00\x00\x00\x00\xc3\xa9."sv, Kind::kString},  // BINUNICODE8
           {"\x80\x02U\x02\xc3\xa9."sv, Kind::kString},                              // SHORT_BINSTRING
           {"\x80\x02T\x02\x00\x00\x00\xc3\xa9."sv, Kind::kString},                  // BINSTRING
           {"\x80\x03""C\x02\xc3\xa9."sv, Kind::kBytes},                             // SHORT_BINBYTES
           {"\x80\x03""B\x02\x00\x00\x00\xc3\xa9."sv, Kind::kBytes},                 // BINBYTES
           {"\x80\x04\x8e\x02\x00\x00\x00\x00\x00\x00\x00\xc3\xa9."sv, Kind::kBytes}}) {  // BINBYTES8
    const auto v = read(pickle);
    EXPECT_EQ(v->kind, kind) << describe(*v);
    EXPECT_EQ(v->s, "\xc3\xa9");  // raw bytes, UTF-8 for str as Python writes it
  }
}

TEST(Pickle, Containers) {
  // (1, 2, 3) and (1,), (1, 2) by TUPLE1..3, and a MARK-delimited TUPLE.
  EXPECT_EQ(read("\x80\x02K\x01\x85.")->items.size(), 1U);
  EXPECT_EQ(read("\x80\x02K\x01K\x02\x86.")->items.size(), 2U);
  const auto three = read("\x80\x02K\x01K\x02K\x03\x87.");
  ASSERT_EQ(three->kind, Kind::kTuple);
  ASSERT_EQ(three->items.size(), 3U);
  EXPECT_EQ(three->items[0]->i, 1);
  EXPECT_EQ(three->items[2]->i, 3);
  EXPECT_EQ(read("\x80\x02(K\x01K\x02K\x03K\x04t.")->items.size(), 4U);
  EXPECT_TRUE(read("\x80\x02).")->items.empty());
  // [7, 8, 9]: EMPTY_LIST then APPEND, then APPENDS; and by LIST.
  const auto list = read("\x80\x02]K\x07" "a(K\x08K\x09" "e.");
  ASSERT_EQ(list->kind, Kind::kList);
  ASSERT_EQ(list->items.size(), 3U);
  EXPECT_EQ(list->items[1]->i, 8);
  EXPECT_EQ(read("\x80\x02(K\x01K\x02l.")->items.size(), 2U);
  // {'b': 1, 'a': 2, 'c': 3} keeps the pickle's order: SETITEM, SETITEMS; and DICT.
  const auto dict = read(
      "\x80\x02}X\x01\x00\x00\x00" "bK\x01s(X\x01\x00\x00\x00" "aK\x02X\x01\x00\x00\x00" "cK\x03u."sv);
  ASSERT_EQ(dict->kind, Kind::kDict);
  ASSERT_EQ(dict->entries.size(), 3U);
  EXPECT_EQ(dict->entries[0].first->s, "b");
  EXPECT_EQ(dict->entries[1].first->s, "a");
  EXPECT_EQ(dict->entries[2].second->i, 3);
  EXPECT_EQ(read("\x80\x02(K\x01K\x02K\x03K\x04" "d.")->entries.size(), 2U);
  // POP, POP_MARK and DUP.
  EXPECT_EQ(read("\x80\x02K\x01K\x02" "0.")->i, 1);
  EXPECT_EQ(read("\x80\x02K\x01(K\x02K\x03" "1.")->i, 1);
  const auto dup = read("\x80\x02]2\x86.");
  EXPECT_EQ(dup->items[0], dup->items[1]);
}

// The memo hands out the object itself, so filling it later (as pickle does
// for a dict it has stored) shows through every reference.
TEST(Pickle, MemoSharesObjects) {
  for (const auto pickle : {"\x80\x02]q\x00h\x00K\x01" "a\x86."sv,                 // BINPUT, BINGET
                            "\x80\x02]r\x05\x00\x00\x00j\x05\x00\x00\x00K\x01" "a\x86."sv,  // LONG_BINPUT, LONG_BINGET
                            "\x80\x04]\x94h\x00K\x01" "a\x86."sv}) {              // MEMOIZE
    const auto pair = read(pickle);
    ASSERT_EQ(pair->items.size(), 2U);
    EXPECT_EQ(pair->items[0], pair->items[1]);
    EXPECT_EQ(pair->items[0]->items.size(), 1U);
  }
}

// pickle.dumps({'a': [1, -2, 300, 70000, -(2**40), 2**70, 3.5, None, True, False],
//               'b': (b'xy', '\u00e9'), 'c': ()}, protocol=4): framing, MEMOIZE, short opcodes.
TEST(Pickle, WhatPythonWritesAtProtocol4) {
  const std::vector<std::uint8_t> data = {
      0x80, 0x04, 0x95, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7d, 0x94, 0x28, 0x8c, 0x01, 0x61, 0x94, 0x5d,
      0x94, 0x28, 0x4b, 0x01, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x4d, 0x2c, 0x01, 0x4a, 0x70, 0x11, 0x01, 0x00, 0x8a, 0x06,
      0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x8a, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x47, 0x40,
      0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x88, 0x89, 0x65, 0x8c, 0x01, 0x62, 0x94, 0x43, 0x02, 0x78, 0x79,
      0x94, 0x8c, 0x02, 0xc3, 0xa9, 0x94, 0x86, 0x94, 0x8c, 0x01, 0x63, 0x94, 0x29, 0x75, 0x2e};
  std::size_t pos = 0;
  const auto v = load(Input{"t.pkl", "", data}, pos);
  EXPECT_EQ(pos, data.size());
  ASSERT_EQ(v->kind, Kind::kDict);
  ASSERT_EQ(v->entries.size(), 3U);
  const Value& a = *v->entries[0].second;
  ASSERT_EQ(a.kind, Kind::kList);
  ASSERT_EQ(a.items.size(), 10U);
  EXPECT_EQ(a.items[0]->i, 1);
  EXPECT_EQ(a.items[1]->i, -2);
  EXPECT_EQ(a.items[2]->i, 300);
  EXPECT_EQ(a.items[3]->i, 70000);
  EXPECT_EQ(a.items[4]->i, -(std::int64_t{1} << 40));
  EXPECT_EQ(a.items[5]->kind, Kind::kBigInt);
  EXPECT_EQ(a.items[6]->f, 3.5);
  EXPECT_EQ(a.items[7]->kind, Kind::kNone);
  EXPECT_EQ(a.items[8]->i, 1);
  EXPECT_EQ(a.items[9]->i, 0);
  const Value& b = *v->entries[1].second;
  ASSERT_EQ(b.items.size(), 2U);
  EXPECT_EQ(b.items[0]->kind, Kind::kBytes);
  EXPECT_EQ(b.items[0]->s, "xy");
  EXPECT_EQ(b.items[1]->s, "\xc3\xa9");
  EXPECT_EQ(v->entries[2].first->s, "c");
  EXPECT_TRUE(v->entries[2].second->items.empty());
}

// Protocol 2, as torch.save writes: pickle.dumps(collections.OrderedDict([('k', 1)]), protocol=2)
// and pickle.dumps([b'xy'], protocol=2), whose bytes are a call of _codecs.encode.
TEST(Pickle, WhatPythonWritesAtProtocol2) {
  const auto ordered = read("\x80\x02" "ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00kq\x02K\x01s."sv);
  ASSERT_EQ(ordered->kind, Kind::kDict);
  ASSERT_EQ(ordered->entries.size(), 1U);
  EXPECT_EQ(ordered->entries[0].first->s, "k");
  EXPECT_EQ(ordered->entries[0].second->i, 1);
  const auto list = read("\x80\x02]q\x00" "c_codecs\nencode\nq\x01X\x02\x00\x00\x00xyq\x02"
                         "X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05" "a."sv);
  ASSERT_EQ(list->items.size(), 1U);
  EXPECT_EQ(list->items[0]->kind, Kind::kObject);
  EXPECT_EQ(list->items[0]->s, "_codecs.encode");
  EXPECT_EQ(describe(*list->items[0]), "a _codecs.encode object");
}

// Nothing runs: unknown calls and classes become opaque objects that take
// (and drop) items and state.
TEST(Pickle, GlobalsAndOpaqueObjects) {
  const auto global = read("\x80\x04\x8c\x01m\x8c\x01" "f\x93.");  // STACK_GLOBAL
  EXPECT_EQ(global->kind, Kind::kGlobal);
  EXPECT_EQ(global->s, "m.f");
  EXPECT_EQ(describe(*global), "the global m.f");
  // os.system('x') by REDUCE, then SETITEMS, APPEND and BUILD on it.
  const auto call = read("\x80\x02" "cos\nsystem\nX\x01\x00\x00\x00x\x85R(K\x01K\x02uK\x03" "a}b."sv);
  EXPECT_EQ(call->kind, Kind::kObject);
  EXPECT_EQ(call->s, "os.system");
  EXPECT_TRUE(call->items.empty());
  EXPECT_TRUE(call->entries.empty());
  // NEWOBJ: m.C.__new__(m.C), and OrderedDict.__new__ a dict.
  const auto obj = read("\x80\x02" "cm\nC\n)\x81.");
  EXPECT_EQ(obj->kind, Kind::kObject);
  EXPECT_EQ(describe(*obj), "a m.C object");
  EXPECT_EQ(read("\x80\x02" "ccollections\nOrderedDict\n)\x81.")->kind, Kind::kDict);
}

TEST(Pickle, Describe) {
  EXPECT_EQ(describe(*make(Kind::kNone)), "None");
  EXPECT_EQ(describe(*make(Kind::kBool)), "a bool");
  EXPECT_EQ(describe(*make_int(3)), "an int");
  EXPECT_EQ(describe(*make(Kind::kBigInt)), "an int");
  EXPECT_EQ(describe(*make(Kind::kFloat)), "a float");
  EXPECT_EQ(describe(*make(Kind::kString)), "a str");
  EXPECT_EQ(describe(*make(Kind::kBytes)), "bytes");
  EXPECT_EQ(describe(*make(Kind::kTuple)), "a tuple");
  EXPECT_EQ(describe(*make(Kind::kList)), "a list");
  EXPECT_EQ(describe(*make(Kind::kDict)), "a dict");
  EXPECT_EQ(describe(*make(Kind::kExtension)), "an extension value");
  auto v = make_string(Kind::kObject, "m.C");
  v->description = "a thing";
  EXPECT_EQ(describe(*v), "a thing");
}

// Pickles written one after another (torch's legacy format) are read in turn.
TEST(Pickle, ConsecutivePickles) {
  const auto data = bytes_of("\x80\x02K\x01.\x80\x02K\x02.");
  const Input in{"t.pkl", "", data};
  std::size_t pos = 0;
  EXPECT_EQ(load(in, pos)->i, 1);
  EXPECT_EQ(pos, 5U);
  EXPECT_EQ(load(in, pos)->i, 2);
  EXPECT_EQ(pos, data.size());
  // The memo does not carry over: the second pickle cannot read the first's entry.
  const auto memo = bytes_of("\x80\x02K\x01q\x00.\x80\x02h\x00."sv);
  pos = 0;
  load(Input{"t.pkl", "", memo}, pos);
  try {
    load(Input{"t.pkl", "", memo}, pos);
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "'t.pkl': malformed pickle (byte 9): memo entry 0 read before it was written");
  }
}

TEST(Pickle, ReduceHook) {
  std::string seen_name;
  std::vector<std::int64_t> seen_args;
  Hooks hooks;
  hooks.reduce = [&](const std::string& name, const std::vector<ValuePtr>& args) -> ValuePtr {
    seen_name = name;
    for (const auto& a : args) seen_args.push_back(a->i);
    if (name == "m.answer") return make_int(42);
    if (name == "m.refuse") throw Rejected("no thanks");
    return nullptr;  // the reader's own handling
  };
  EXPECT_EQ(read("\x80\x02" "cm\nanswer\nK\x01K\x02\x86R.", hooks)->i, 42);
  EXPECT_EQ(seen_name, "m.answer");
  EXPECT_EQ(seen_args, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(read("\x80\x02" "cm\nother\n)R.", hooks)->kind, Kind::kObject);
  EXPECT_EQ(read("\x80\x02" "ccollections\nOrderedDict\n)R.", hooks)->kind, Kind::kDict);
  EXPECT_EQ(error_of("\x80\x02" "cm\nrefuse\n)R.", hooks), "'t.pkl': malformed pickle (byte 13): no thanks");
  EXPECT_EQ(error_of("\x80\x02" "cm\nrefuse\n)R.", hooks, "data.pkl"),
            "'t.pkl': malformed pickle (data.pkl byte 13): no thanks");
}

TEST(Pickle, PersistentLoadHook) {
  Hooks hooks;
  hooks.persistent_load = [](const Value& pid) -> ValuePtr {
    if (pid.kind != Kind::kInt) throw Rejected("persistent id is " + describe(pid));
    auto v = make(Kind::kExtension);
    v->description = "a storage";
    v->payload = pid.i * 10;
    return v;
  };
  const auto v = read("\x80\x02K\x07Q.", hooks);
  ASSERT_EQ(v->kind, Kind::kExtension);
  EXPECT_EQ(std::any_cast<std::int64_t>(v->payload), 70);
  EXPECT_EQ(describe(*v), "a storage");
  // Its refusals are a well-formed pickle this caller does not support.
  EXPECT_EQ(error_of("\x80\x02NQ.", hooks), "'t.pkl': persistent id is None (byte 3)");
  EXPECT_EQ(error_of("\x80\x02NQ.", hooks, "data.pkl"), "'t.pkl': persistent id is None (data.pkl byte 3)");
  EXPECT_EQ(error_of("\x80\x02K\x07Q."), "'t.pkl': malformed pickle (byte 4): persistent id where none is expected");
  Hooks broken;
  broken.persistent_load = [](const Value&) -> ValuePtr { return nullptr; };
  EXPECT_THROW(read("\x80\x02K\x07Q.", broken), std::logic_error);
}

TEST(Pickle, ObjectDescriptionHook) {
  Hooks hooks;
  hooks.object_description = [](const std::string& name) { return name == "m.T" ? "a T thing"s : ""s; };
  EXPECT_EQ(describe(*read("\x80\x02" "cm\nT\n)R.", hooks)), "a T thing");
  EXPECT_EQ(describe(*read("\x80\x02" "cm\nT\n)\x81.", hooks)), "a T thing");
  EXPECT_EQ(describe(*read("\x80\x02" "cm\nU\n)R.", hooks)), "a m.U object");
  // Messages about the object use the description too.
  EXPECT_EQ(error_of("\x80\x02" "cm\nT\n)R)R.", hooks), "'t.pkl': malformed pickle (byte 10): call of a T thing");
}

TEST(Pickle, MalformedPicklesAndTheirMessages) {
  const std::vector<std::pair<std::string_view, std::string>> cases = {
      {"\x80\x02\xff", "malformed pickle (byte 2): unknown or unsupported opcode 0xff"},
      {"\x80\x02I1\n.", "malformed pickle (byte 2): unknown or unsupported opcode 0x49"},  // protocol 0's INT
      {"\x80\x04\x8f.", "malformed pickle (byte 2): unknown or unsupported opcode 0x8f"},  // EMPTY_SET
      {"\x80\x06N.", "malformed pickle (byte 0): pickle protocol 6 (at most 5 known)"},
      {""sv, "malformed pickle (byte 0): truncated: 1 more bytes needed, 0 left"},
      {"\x80\x02N", "malformed pickle (byte 3): truncated: 1 more bytes needed, 0 left"},
      {"\x80\x02J\x01\x02", "malformed pickle (byte 2): truncated: 4 more bytes needed, 2 left"},
      {"\x80\x02X\xff\xff\xff\x7f" "ab", "malformed pickle (byte 2): truncated: 2147483647 more bytes needed, 2 left"},
      {"\x80\x02" "cmodule", "malformed pickle (byte 2): truncated: unterminated line"},
      {"\x80\x02\x8b\xff\xff\xff\xff", "malformed pickle (byte 2): negative LONG4 length"},
      {"\x80\x02T\xff\xff\xff\xff", "malformed pickle (byte 2): negative BINSTRING length"},
      {"\x80\x02" "0.", "malformed pickle (byte 2): stack underflow"},
      {"\x80\x02N(0.", "malformed pickle (byte 4): stack underflow"},  // no popping below a MARK
      {"\x80\x02" "1.", "malformed pickle (byte 2): no MARK to pop to"},
      {"\x80\x02NN.", "malformed pickle (byte 4): STOP with 2 values and 0 marks left"},
      {"\x80\x02N(.", "malformed pickle (byte 4): STOP with 1 values and 1 marks left"},
      {"\x80\x02h\x03.", "malformed pickle (byte 2): memo entry 3 read before it was written"},
      {"\x80\x02q\x00."sv, "malformed pickle (byte 2): memo write with an empty stack"},
      {"\x80\x02]K\x01K\x02s.", "malformed pickle (byte 7): SETITEM on a list"},
      {"\x80\x02}(K\x01u.", "malformed pickle (byte 6): SETITEMS with an odd number of items"},
      {"\x80\x02}K\x01" "a.", "malformed pickle (byte 5): APPEND to a dict"},
      {"\x80\x02N(K\x01" "e.", "malformed pickle (byte 6): APPENDS to None"},
      {"\x80\x02K\x01)R.", "malformed pickle (byte 5): call of an int"},
      {"\x80\x02" "cm\nf\nK\x01R.", "malformed pickle (byte 9): call arguments are an int, not a tuple"},
      {"\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.",
       "malformed pickle (byte 30): OrderedDict called with arguments"},
      {"\x80\x02K\x01)\x81.", "malformed pickle (byte 5): NEWOBJ of an int"},
      {"\x80\x04K\x01K\x02\x93.", "malformed pickle (byte 6): STACK_GLOBAL needs two strings"},
  };
  for (const auto& [pickle, message] : cases) EXPECT_EQ(error_of(pickle), "'t.pkl': " + message);
}

// A million lists nested in one another (each appended to the one before, the
// root kept in memo 1), read and freed: neither may recurse.
TEST(Pickle, DeeplyNestedContainers) {
  constexpr int kDepth = 1'000'000;
  std::string pickle = "\x80\x02]q\x01";
  for (int k = 0; k < kDepth; ++k) pickle += "]q\x00" "a0h\x00"sv;
  pickle += "0h\x01.";
  ValuePtr root = read(pickle);
  int depth = 0;
  for (const Value* v = root.get(); !v->items.empty(); v = v->items[0].get()) ++depth;
  EXPECT_EQ(depth, kDepth);
  root.reset();
}

// Found by fuzz/pickle.cpp (fuzz/regressions/pickle/): a container made to
// hold itself was never freed (and a walk over the value would never end).
// In the value it is an error; among values the pickle dropped it is freed
// (the sanitizer build's LeakSanitizer checks that).
TEST(Pickle, ContainerThatHoldsItself) {
  EXPECT_EQ(error_of("\x80\x02]q\x00" "h\x00" "a."sv),
            "'t.pkl': malformed pickle (byte 8): a container that holds itself");
  // Through a dict and a tuple: the memoized dict read back into the tuple set in it.
  EXPECT_EQ(error_of("\x80\x02}q\x00X\x01\x00\x00\x00kh\x00\x85s."sv),
            "'t.pkl': malformed pickle (byte 15): a container that holds itself");
  // The same list twice in a tuple (shared, not a cycle) is fine.
  ValuePtr v = read("\x80\x02]q\x00" "0h\x00h\x00\x86."sv);
  ASSERT_EQ(v->kind, Kind::kTuple);
  EXPECT_EQ(v->items[0], v->items[1]);
  // A list appended to itself, then dropped: the pickle's value is None.
  EXPECT_EQ(read("\x80\x02]2a0N."sv)->kind, Kind::kNone);
}

}  // namespace
}  // namespace inferbench::train::pickle
