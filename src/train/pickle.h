#pragma once
// Reads Python pickles as data, for the PyTorch checkpoint reader
// (pth_reader.cpp); it knows nothing of torch itself.
//
// Contract:
// - The binary opcodes of protocols 1 to 5 (torch.save writes 2), PROTO up
//   to 5 accepted:
//   PROTO, FRAME, STOP; MARK, POP, POP_MARK, DUP; NONE, NEWTRUE, NEWFALSE;
//   BININT, BININT1, BININT2, LONG1, LONG4, BINFLOAT; BINUNICODE,
//   SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING (both as str),
//   BINBYTES, SHORT_BINBYTES, BINBYTES8; EMPTY_TUPLE, TUPLE, TUPLE1-3,
//   EMPTY_LIST, LIST, APPEND, APPENDS, EMPTY_DICT, DICT, SETITEM, SETITEMS;
//   BINGET, LONG_BINGET, BINPUT, LONG_BINPUT, MEMOIZE; GLOBAL, STACK_GLOBAL,
//   REDUCE, NEWOBJ, BUILD, BINPERSID. Every other opcode (protocol 0's text
//   opcodes but GLOBAL, sets, NEWOBJ_EX, EXT*, out-of-band buffers) is an error.
// - Nothing is ever executed. A global is a Value naming "module.name". REDUCE
//   of a global asks Hooks::reduce first; otherwise collections.OrderedDict()
//   is an empty dict and any other call an opaque object (Kind::kObject). NEWOBJ
//   of OrderedDict is a dict, of any other class an opaque object (its
//   arguments dropped). APPEND(S) and SETITEM(S) on an opaque object, and BUILD
//   on anything, leave the target unchanged: their arguments are dropped.
// - Containers are shared as Python shares them: a memo entry and the stack
//   hold the same object. Nested containers of any depth are freed without
//   recursion. A container that holds itself (through the memo or DUP) is
//   malformed (torch.save writes none); one among values the pickle dropped
//   is freed.
// - Strings and bytes are kept as their raw bytes (str is not checked to be
//   UTF-8). Ints are Kind::kInt (int64), but a LONG1/LONG4 of more than 8
//   bytes is Kind::kBigInt. Kind::kExtension values are made only by hooks.
// - Every failure throws Error(ExitCode::kInput) naming the file, where in it
//   (Input::where) and the byte offset of the opcode at fault:
//   "'<file>': malformed pickle (<where> byte <n>): <what>" for truncated or
//   malformed input, an unknown opcode, a protocol above 5, and anything
//   Hooks::reduce rejects; "'<file>': <what> (<where> byte <n>)" for what
//   Hooks::persistent_load rejects (a well-formed pickle this caller does not
//   support). Garbage input never crashes. Exceptions of a hook's own (not
//   Rejected) pass through unchanged.
#include <any>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace inferbench::train::pickle {

struct Value;
// Shared, as Python references are: a container stored in the memo and
// filled later (BINPUT, then SETITEMS) must be the same object both ways.
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { kNone, kBool, kInt, kBigInt, kFloat, kString, kBytes, kTuple, kList, kDict, kGlobal, kObject,
                    kExtension };
  Kind kind = Kind::kNone;
  std::int64_t i = 0;                                  // bool (0 or 1), int
  double f = 0.0;                                      // float
  std::string s;                                       // str, bytes; big int: little-endian two's complement;
                                                       // global, object: "module.name" of it or its class
  std::vector<ValuePtr> items;                         // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // dict, in insertion order
  std::any payload;                                    // extension: what the hook that made it put there
  std::string description;                             // how messages name it; empty: by its kind (describe)

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  ~Value();
};

ValuePtr make(Value::Kind kind);
ValuePtr make_int(std::int64_t i);
ValuePtr make_string(Value::Kind kind, std::string s);

// What a value is, in Python's terms, for messages ("an int", "a dict", "the
// global m.f", "a m.C object"); its description instead when it has one.
std::string describe(const Value& v);

// A hook's refusal of what it was given; load() rethrows it as its Error.
class Rejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a caller adds to the reader, as Python's Unpickler.persistent_load and
// find_class do. Hooks may throw Rejected; anything else they throw passes
// through unchanged.
struct Hooks {
  // BINPERSID: what the persistent id `pid` stands for (never nullptr: that
  // is a std::logic_error). Unset: a persistent id is malformed.
  std::function<ValuePtr(const Value& pid)> persistent_load;
  // REDUCE of the global `name` with a tuple of arguments: the value, or
  // nullptr to leave the call to the reader.
  std::function<ValuePtr(const std::string& name, const std::vector<ValuePtr>& args)> reduce;
  // The description given to an opaque object of class `name` (REDUCE or
  // NEWOBJ); empty, or unset: "a <name> object".
  std::function<std::string(const std::string& name)> object_description;
};

struct Input {
  std::string file;                    // named in every message
  std::string where;                   // the stream within the file ("data.pkl"), or "" for the file itself
  std::span<const std::uint8_t> data;  // not owned; must outlive load()
};

// Reads the pickle that starts at byte `pos` of `in.data`, up to its STOP, and
// returns its value; `pos` is then just past the STOP (so pickles written one
// after another can be read in turn). Memo and stack start empty every time.
ValuePtr load(const Input& in, std::size_t& pos, const Hooks& hooks = {});

}  // namespace inferbench::train::pickle
