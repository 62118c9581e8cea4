#include "train/pickle.h"

#include <fmt/format.h>

#include <bit>
#include <exception>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"

namespace inferbench::train::pickle {

// Tears nested containers down iteratively: a pickle of a million nested
// lists must not overflow the stack through recursive destructors.
Value::~Value() {
  std::vector<ValuePtr> pending;
  const auto take = [&pending](Value& v) {
    for (auto& item : v.items) pending.push_back(std::move(item));
    for (auto& [key, value] : v.entries) {
      pending.push_back(std::move(key));
      pending.push_back(std::move(value));
    }
    v.items.clear();
    v.entries.clear();
  };
  take(*this);
  while (!pending.empty()) {
    ValuePtr v = std::move(pending.back());
    pending.pop_back();
    if (v && v.use_count() == 1) take(*v);  // the last owner: empty it before it dies
  }
}

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

ValuePtr make_int(std::int64_t i) {
  auto v = make(Value::Kind::kInt);
  v->i = i;
  return v;
}

ValuePtr make_string(Value::Kind kind, std::string s) {
  auto v = make(kind);
  v->s = std::move(s);
  return v;
}

std::string describe(const Value& v) {
  if (!v.description.empty()) return v.description;
  switch (v.kind) {
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return "a bool";
    case Value::Kind::kInt:
    case Value::Kind::kBigInt: return "an int";
    case Value::Kind::kFloat: return "a float";
    case Value::Kind::kString: return "a str";
    case Value::Kind::kBytes: return "bytes";
    case Value::Kind::kTuple: return "a tuple";
    case Value::Kind::kList: return "a list";
    case Value::Kind::kDict: return "a dict";
    case Value::Kind::kGlobal: return fmt::format("the global {}", v.s);
    case Value::Kind::kObject: return fmt::format("a {} object", v.s);
    case Value::Kind::kExtension: return "an extension value";
  }
  return "an unknown value";
}

namespace {

// One load(): the stack machine over one pickle.
class Unpickler {
 public:
  // Every container made is also recorded in `made` (see load()).
  Unpickler(const Input& in, std::size_t pos, const Hooks& hooks, std::vector<std::weak_ptr<Value>>& made)
      : file_(in.file), where_(in.where), data_(in.data), pos_(pos), hooks_(hooks), made_(made) {}

  // Runs to STOP; afterwards pos() is just past it.
  ValuePtr load();
  [[nodiscard]] std::size_t pos() const { return pos_; }

 private:
  [[noreturn]] void malformed(const std::string& what) const {
    fail(ExitCode::kInput, fmt::format("'{}': malformed pickle ({}byte {}): {}", file_,
                                       where_.empty() ? "" : where_ + " ", op_pos_, what));
  }
  // A well-formed pickle asking for something this reader does not support.
  [[noreturn]] void unsupported(const std::string& what) const {
    fail(ExitCode::kInput,
         fmt::format("'{}': {} ({}byte {})", file_, what, where_.empty() ? "" : where_ + " ", op_pos_));
  }
  void need(std::uint64_t n) const {
    if (n > data_.size() - pos_) {
      malformed(fmt::format("truncated: {} more bytes needed, {} left", n, data_.size() - pos_));
    }
  }
  std::uint64_t read_le(std::size_t n) {
    need(n);
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) v |= static_cast<std::uint64_t>(data_[pos_ + k]) << (8 * k);
    pos_ += n;
    return v;
  }
  std::string read_bytes(std::uint64_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::string read_line() {
    const std::size_t start = pos_;
    while (pos_ < data_.size() && data_[pos_] != '\n') ++pos_;
    if (pos_ == data_.size()) malformed("truncated: unterminated line");
    std::string s(reinterpret_cast<const char*>(data_.data() + start), pos_ - start);
    ++pos_;
    return s;
  }

  // Python's C unpickler refuses to pop below the innermost MARK; so do we.
  std::size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  ValuePtr pop() {
    if (stack_.size() <= fence()) malformed("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= fence()) malformed("stack underflow");
    return *stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) malformed("no MARK to pop to");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) malformed("stack underflow");
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void push(ValuePtr v) {
    // A container pushed as it is made (its only owner the argument); list,
    // dict and tuple are the kinds that hold values.
    if (v.use_count() == 1 &&
        (v->kind == Value::Kind::kList || v->kind == Value::Kind::kDict || v->kind == Value::Kind::kTuple)) {
      made_.push_back(v);
    }
    stack_.push_back(std::move(v));
  }
  void push_tuple(std::vector<ValuePtr> items) {
    auto t = make(Value::Kind::kTuple);
    t->items = std::move(items);
    push(std::move(t));
  }
  void memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) malformed(fmt::format("memo entry {} read before it was written", index));
    push(it->second);
  }
  void memo_put(std::uint64_t index) {
    if (stack_.empty()) malformed("memo write with an empty stack");
    memo_[index] = stack_.back();
  }
  void push_int_bytes(const std::string& raw);
  void set_items(Value& target, std::vector<ValuePtr> items);
  ValuePtr call(const Value& callable, const Value& args);
  ValuePtr opaque_object(const std::string& name) const;

  const std::string& file_;
  const std::string& where_;
  std::span<const std::uint8_t> data_;
  std::size_t pos_;
  std::size_t op_pos_ = 0;
  const Hooks& hooks_;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValuePtr> memo_;
  std::vector<std::weak_ptr<Value>>& made_;
};

// LONG1/LONG4: little-endian two's complement of any length.
void Unpickler::push_int_bytes(const std::string& raw) {
  if (raw.size() > 8) {
    push(make_string(Value::Kind::kBigInt, raw));  // kept raw: compared byte for byte (torch's magic number)
    return;
  }
  std::uint64_t u = 0;
  for (std::size_t k = 0; k < raw.size(); ++k) {
    u |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(raw[k])) << (8 * k);
  }
  if (!raw.empty() && raw.size() < 8 && (static_cast<std::uint8_t>(raw.back()) & 0x80U) != 0) {
    u |= ~std::uint64_t{0} << (8 * raw.size());  // sign-extend
  }
  push(make_int(static_cast<std::int64_t>(u)));
}

void Unpickler::set_items(Value& target, std::vector<ValuePtr> items) {
  if (items.size() % 2 != 0) malformed("SETITEMS with an odd number of items");
  if (target.kind == Value::Kind::kObject) return;  // an opaque object's __setitem__: nothing we need
  if (target.kind != Value::Kind::kDict) malformed(fmt::format("SETITEM on {}", describe(target)));
  for (std::size_t k = 0; k < items.size(); k += 2) target.entries.emplace_back(items[k], items[k + 1]);
}

ValuePtr Unpickler::call(const Value& callable, const Value& args) {
  if (callable.kind != Value::Kind::kGlobal) malformed(fmt::format("call of {}", describe(callable)));
  if (args.kind != Value::Kind::kTuple) malformed(fmt::format("call arguments are {}, not a tuple", describe(args)));
  const std::string& name = callable.s;
  if (hooks_.reduce) {
    ValuePtr v;
    try {
      v = hooks_.reduce(name, args.items);
    } catch (const Rejected& e) {
      malformed(e.what());
    }
    if (v) return v;
  }
  if (name == "collections.OrderedDict") {
    // pickle passes OrderedDict's items by SETITEMS after the call, never as arguments.
    if (!args.items.empty()) malformed("OrderedDict called with arguments");
    return make(Value::Kind::kDict);
  }
  // Anything else (argparse.Namespace, numpy scalars, torch.Size, ...) may sit
  // beside the data a caller wants (a checkpoint's state_dict): keep a
  // placeholder, never run it.
  return opaque_object(name);
}

ValuePtr Unpickler::opaque_object(const std::string& name) const {
  auto v = make_string(Value::Kind::kObject, name);
  if (hooks_.object_description) v->description = hooks_.object_description(name);
  return v;
}

ValuePtr Unpickler::load() {
  stack_.clear();
  marks_.clear();
  memo_.clear();
  while (true) {
    op_pos_ = pos_;
    need(1);
    const std::uint8_t op = data_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        const auto proto = read_le(1);
        if (proto > 5) malformed(fmt::format("pickle protocol {} (at most 5 known)", proto));
        break;
      }
      case 0x95: read_le(8); break;  // FRAME: a read-ahead hint only
      case '.': {                    // STOP
        if (stack_.size() != 1 || !marks_.empty()) {
          malformed(fmt::format("STOP with {} values and {} marks left", stack_.size(), marks_.size()));
        }
        return stack_.back();
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                            // POP
      case '1': pop_mark(); break;                       // POP_MARK
      case '2': {  // DUP
        top();
        push(stack_.back());
        break;
      }
      case 'N': push(make(Value::Kind::kNone)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        auto v = make(Value::Kind::kBool);
        v->i = op == 0x88 ? 1 : 0;
        push(std::move(v));
        break;
      }
      case 'J': push(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4))))); break;  // BININT
      case 'K': push(make_int(static_cast<std::int64_t>(read_le(1)))); break;                              // BININT1
      case 'M': push(make_int(static_cast<std::int64_t>(read_le(2)))); break;                              // BININT2
      case 0x8a: push_int_bytes(read_bytes(read_le(1))); break;                                            // LONG1
      case 0x8b: {                                                                                         // LONG4
        const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
        if (n < 0) malformed("negative LONG4 length");
        push_int_bytes(read_bytes(static_cast<std::uint64_t>(n)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        need(8);
        std::uint64_t bits = 0;
        for (std::size_t k = 0; k < 8; ++k) bits = (bits << 8) | data_[pos_ + k];
        pos_ += 8;
        auto v = make(Value::Kind::kFloat);
        v->f = std::bit_cast<double>(bits);
        push(std::move(v));
        break;
      }
      case 'X': push(make_string(Value::Kind::kString, read_bytes(read_le(4)))); break;   // BINUNICODE
      case 0x8c: push(make_string(Value::Kind::kString, read_bytes(read_le(1)))); break;  // SHORT_BINUNICODE
      case 0x8d: push(make_string(Value::Kind::kString, read_bytes(read_le(8)))); break;  // BINUNICODE8
      case 'U': push(make_string(Value::Kind::kString, read_bytes(read_le(1)))); break;   // SHORT_BINSTRING
      case 'T': {                                                                         // BINSTRING
        const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4)));
        if (n < 0) malformed("negative BINSTRING length");
        push(make_string(Value::Kind::kString, read_bytes(static_cast<std::uint64_t>(n))));
        break;
      }
      case 'C': push(make_string(Value::Kind::kBytes, read_bytes(read_le(1)))); break;   // SHORT_BINBYTES
      case 'B': push(make_string(Value::Kind::kBytes, read_bytes(read_le(4)))); break;   // BINBYTES
      case 0x8e: push(make_string(Value::Kind::kBytes, read_bytes(read_le(8)))); break;  // BINBYTES8
      case ')': push_tuple({}); break;                                                    // EMPTY_TUPLE
      case 't': push_tuple(pop_mark()); break;                                            // TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const std::size_t n = op - 0x84U;
        std::vector<ValuePtr> items(n);
        for (std::size_t k = n; k-- > 0;) items[k] = pop();
        push_tuple(std::move(items));
        break;
      }
      case ']': push(make(Value::Kind::kList)); break;  // EMPTY_LIST
      case 'l': {                                       // LIST
        auto v = make(Value::Kind::kList);
        v->items = pop_mark();
        push(std::move(v));
        break;
      }
      case 'a': {  // APPEND
        ValuePtr item = pop();
        Value& list = top();
        if (list.kind == Value::Kind::kList) {
          list.items.push_back(std::move(item));
        } else if (list.kind != Value::Kind::kObject) {
          malformed(fmt::format("APPEND to {}", describe(list)));
        }
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_mark();
        Value& list = top();
        if (list.kind == Value::Kind::kList) {
          for (auto& item : items) list.items.push_back(std::move(item));
        } else if (list.kind != Value::Kind::kObject) {
          malformed(fmt::format("APPENDS to {}", describe(list)));
        }
        break;
      }
      case '}': push(make(Value::Kind::kDict)); break;  // EMPTY_DICT
      case 'd': {                                       // DICT
        auto items = pop_mark();
        auto v = make(Value::Kind::kDict);
        set_items(*v, std::move(items));
        push(std::move(v));
        break;
      }
      case 's': {  // SETITEM
        ValuePtr value = pop();
        ValuePtr key = pop();
        set_items(top(), {std::move(key), std::move(value)});
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        set_items(top(), std::move(items));
        break;
      }
      case 'h': memo_get(read_le(1)); break;     // BINGET
      case 'j': memo_get(read_le(4)); break;     // LONG_BINGET
      case 'q': memo_put(read_le(1)); break;     // BINPUT
      case 'r': memo_put(read_le(4)); break;     // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'c': {                                // GLOBAL
        std::string module = read_line();
        std::string name = read_line();
        push(make_string(Value::Kind::kGlobal, module + "." + name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (name->kind != Value::Kind::kString || module->kind != Value::Kind::kString) {
          malformed("STACK_GLOBAL needs two strings");
        }
        push(make_string(Value::Kind::kGlobal, module->s + "." + name->s));
        break;
      }
      case 'R': {  // REDUCE
        ValuePtr args = pop();
        ValuePtr callable = pop();
        push(call(*callable, *args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        ValuePtr args = pop();
        ValuePtr cls = pop();
        if (cls->kind != Value::Kind::kGlobal) malformed(fmt::format("NEWOBJ of {}", describe(*cls)));
        push(cls->s == "collections.OrderedDict" ? make(Value::Kind::kDict) : opaque_object(cls->s));
        break;
      }
      case 'b':  // BUILD: sets an object's state. OrderedDict's is `_metadata`, which we do not need.
        pop();
        top();
        break;
      case 'Q': {  // BINPERSID
        ValuePtr pid = pop();
        if (!hooks_.persistent_load) malformed("persistent id where none is expected");
        ValuePtr v;
        try {
          v = hooks_.persistent_load(*pid);
        } catch (const Rejected& e) {
          unsupported(e.what());
        }
        if (!v) throw std::logic_error("pickle::Hooks::persistent_load returned no value");
        push(std::move(v));
        break;
      }
      default: malformed(fmt::format("unknown or unsupported opcode 0x{:02x}", op));
    }
  }
}

}  // namespace

namespace {

// The containers reachable from `root`, and whether one of them holds itself
// (directly or through others): an iterative depth-first walk, so that deep
// nesting cannot overflow the stack.
bool holds_a_cycle(const Value& root, std::unordered_set<const Value*>& reachable) {
  std::unordered_set<const Value*> open;  // on the current path
  struct Frame {
    const Value* v;
    std::size_t next;  // index into items, then entries (two children each)
  };
  std::vector<Frame> path{{&root, 0}};
  reachable.insert(&root);
  open.insert(&root);
  while (!path.empty()) {
    Frame& f = path.back();
    const std::size_t n_items = f.v->items.size();
    const std::size_t n_children = n_items + 2 * f.v->entries.size();
    if (f.next == n_children) {
      open.erase(f.v);
      path.pop_back();
      continue;
    }
    const std::size_t k = f.next++;
    const Value* child = k < n_items ? f.v->items[k].get()
                         : (k - n_items) % 2 == 0 ? f.v->entries[(k - n_items) / 2].first.get()
                                                  : f.v->entries[(k - n_items) / 2].second.get();
    if (child == nullptr) continue;
    if (open.count(child) != 0) return true;
    if (reachable.insert(child).second) {
      open.insert(child);
      path.push_back({child, 0});
    }
  }
  return false;
}

// Empties every container of `made` still alive: what only a cycle keeps
// alive is then freed.
void empty_all(const std::vector<std::weak_ptr<Value>>& made, const std::unordered_set<const Value*>* keep) {
  for (const auto& w : made) {
    if (const ValuePtr v = w.lock(); v && (keep == nullptr || keep->count(v.get()) == 0)) {
      std::vector<ValuePtr> items = std::move(v->items);
      std::vector<std::pair<ValuePtr, ValuePtr>> entries = std::move(v->entries);
      v->items.clear();
      v->entries.clear();
    }
  }
}

}  // namespace

// A pickle can make a container hold itself (APPEND of a list to itself, a
// memo entry appended into its own contents), which shared ownership never
// frees (fuzz/pickle.cpp found the leak). torch.save writes no such thing: a
// cycle in the value is an error, and one in values the pickle dropped, or
// left behind by an error, is broken up here.
ValuePtr load(const Input& in, std::size_t& pos, const Hooks& hooks) {
  std::vector<std::weak_ptr<Value>> made;  // outlives the unpickler's stack and memo
  ValuePtr v;
  std::size_t end = pos;
  std::exception_ptr error;
  {
    Unpickler unpickler(in, pos, hooks, made);
    try {
      v = unpickler.load();
      end = unpickler.pos();
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (error) {
    empty_all(made, nullptr);
    std::rethrow_exception(error);
  }
  std::unordered_set<const Value*> reachable;
  if (holds_a_cycle(*v, reachable)) {
    v.reset();
    empty_all(made, nullptr);
    fail(ExitCode::kInput, fmt::format("'{}': malformed pickle ({}byte {}): a container that holds itself", in.file,
                                       in.where.empty() ? "" : in.where + " ", end - 1));
  }
  empty_all(made, &reachable);
  pos = end;
  return v;
}

}  // namespace inferbench::train::pickle
