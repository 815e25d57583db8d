#include "runtime/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/checked_math.h"

namespace ridge::runtime {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kMaxHeaderBytes = 1 << 16;  // numpy itself caps v1 headers at 64 KiB
constexpr int kMaxRank = 16;

struct DescrEntry {
  const char* descr;
  DType dtype;
};
// Little-endian ('<') or byte-order-free ('|') descriptors only.
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kFloat32}, {"<f8", DType::kFloat64}, {"<f2", DType::kFloat16},
    {"|i1", DType::kInt8},    {"|u1", DType::kUInt8},   {"<i2", DType::kInt16},
    {"<u2", DType::kUInt16},  {"<i4", DType::kInt32},   {"<u4", DType::kUInt32},
    {"<i8", DType::kInt64},   {"<u8", DType::kUInt64},  {"|b1", DType::kBool},
};

// Finds `'key':` in the header dict and returns the position just after the colon.
std::optional<size_t> FindKey(std::string_view header, std::string_view key) {
  std::string quoted = "'" + std::string(key) + "'";
  size_t pos = header.find(quoted);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += quoted.size();
  while (pos < header.size() && header[pos] == ' ') ++pos;
  if (pos >= header.size() || header[pos] != ':') return std::nullopt;
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  return pos;
}

Status ParseHeader(std::string_view header, DType* dtype, bool* fortran,
                   std::vector<int64_t>* dims) {
  if (header.empty() || header.front() != '{') return InvalidArgument("header is not a dict");
  auto descr_pos = FindKey(header, "descr");
  if (!descr_pos) return InvalidArgument("header has no 'descr'");
  if (*descr_pos >= header.size() || header[*descr_pos] != '\'') {
    return InvalidArgument("'descr' is not a string");
  }
  size_t end = header.find('\'', *descr_pos + 1);
  if (end == std::string_view::npos) return InvalidArgument("unterminated 'descr'");
  std::string descr(header.substr(*descr_pos + 1, end - *descr_pos - 1));
  // numpy writes '<' for multi-byte and '|' for single-byte types; accept '<' for 1-byte too.
  if (descr.size() == 3 && descr[0] == '<' && descr[2] == '1') descr[0] = '|';
  *dtype = DType::kUndefined;
  for (const auto& e : kDescrs) {
    if (descr == e.descr) *dtype = e.dtype;
  }
  if (*dtype == DType::kUndefined) {
    return Unsupported("unsupported dtype '" + descr + "' (little-endian numeric types only)");
  }

  auto fortran_pos = FindKey(header, "fortran_order");
  if (!fortran_pos) return InvalidArgument("header has no 'fortran_order'");
  if (header.substr(*fortran_pos, 4) == "True") {
    *fortran = true;
  } else if (header.substr(*fortran_pos, 5) == "False") {
    *fortran = false;
  } else {
    return InvalidArgument("'fortran_order' is neither True nor False");
  }

  auto shape_pos = FindKey(header, "shape");
  if (!shape_pos) return InvalidArgument("header has no 'shape'");
  size_t p = *shape_pos;
  if (p >= header.size() || header[p] != '(') return InvalidArgument("'shape' is not a tuple");
  size_t close = header.find(')', p);
  if (close == std::string_view::npos) return InvalidArgument("unterminated 'shape'");
  dims->clear();
  ++p;
  while (p < close) {
    while (p < close && (header[p] == ' ' || header[p] == ',')) ++p;
    if (p >= close) break;
    int64_t value = 0;
    size_t digits = 0;
    while (p < close && header[p] >= '0' && header[p] <= '9') {
      auto mul = CheckedMul(value, 10);
      if (!mul) return LimitExceeded("shape dim overflows int64");
      auto add = CheckedAdd(*mul, header[p] - '0');
      if (!add) return LimitExceeded("shape dim overflows int64");
      value = *add;
      ++p;
      ++digits;
    }
    if (digits == 0) return InvalidArgument("'shape' holds a non-integer entry");
    if (p < close && header[p] != ',' && header[p] != ' ') {
      return InvalidArgument("'shape' holds a malformed entry");
    }
    dims->push_back(value);
    if (static_cast<int>(dims->size()) > kMaxRank) {
      return LimitExceeded("rank exceeds " + std::to_string(kMaxRank));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Tensor> ParseNpy(std::string_view bytes, const std::string& display_name,
                        int64_t max_bytes) {
  auto fail = [&](const Status& s) { return s.WithContext(display_name); };
  if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    return fail(InvalidArgument("not a .npy file (bad magic)"));
  }
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  int major = u[6];
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = u[8] | (size_t{u[9]} << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return fail(InvalidArgument("truncated header"));
    header_len = u[8] | (size_t{u[9]} << 8) | (size_t{u[10]} << 16) | (size_t{u[11]} << 24);
    header_start = 12;
  } else {
    return fail(Unsupported("npy format version " + std::to_string(major)));
  }
  if (header_len > kMaxHeaderBytes) return fail(LimitExceeded("header longer than 64 KiB"));
  if (header_start + header_len > bytes.size()) return fail(DataLoss("truncated header"));
  std::string_view header = bytes.substr(header_start, header_len);
  DType dtype;
  bool fortran = false;
  std::vector<int64_t> dims;
  RIDGE_RETURN_IF_ERROR_CTX(ParseHeader(header, &dtype, &fortran, &dims), display_name);
  if (fortran) {
    // Fortran order of rank <= 1 is the same as C order.
    int non_unit = 0;
    for (int64_t d : dims) non_unit += d > 1;
    if (non_unit > 1) return fail(Unsupported("fortran_order arrays (save with C order)"));
  }
  auto count = CheckedProduct(dims);
  if (!count) return fail(LimitExceeded("shape overflows"));
  auto data_bytes = CheckedMul(*count, static_cast<int64_t>(DTypeSize(dtype)));
  if (!data_bytes || *data_bytes > max_bytes) {
    return fail(LimitExceeded("tensor exceeds " + std::to_string(max_bytes) + " bytes"));
  }
  size_t data_start = header_start + header_len;
  size_t available = bytes.size() - data_start;
  if (available != static_cast<size_t>(*data_bytes)) {
    return fail(DataLoss("data holds " + std::to_string(available) + " bytes, shape needs " +
                         std::to_string(*data_bytes)));
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor t, Tensor::MakeChecked(dtype, dims, max_bytes));
  if (*data_bytes > 0) std::memcpy(t.raw_data(), bytes.data() + data_start, *data_bytes);
  return t;
}

Result<Tensor> ReadNpy(const std::string& path, int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return NotFound("cannot open '" + path + "'");
  std::streamoff size = in.tellg();
  if (size < 0) return IoError("cannot size '" + path + "'");
  if (size > max_bytes + static_cast<std::streamoff>(kMaxHeaderBytes) + 16) {
    return LimitExceeded(path + ": file larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) return IoError("cannot read '" + path + "'");
  return ParseNpy(bytes, path, max_bytes);
}

Result<std::string> SerializeNpy(const Tensor& tensor) {
  const char* descr = nullptr;
  for (const auto& e : kDescrs) {
    if (e.dtype == tensor.dtype()) descr = e.descr;
  }
  if (!descr) return Unsupported("cannot write dtype " + std::string(DTypeName(tensor.dtype())));
  std::ostringstream h;
  h << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < tensor.rank(); ++i) {
    h << tensor.dims()[i] << (tensor.rank() == 1 ? "," : (i + 1 < tensor.rank() ? ", " : ""));
  }
  h << "), }";
  std::string header = h.str();
  // Pad with spaces so that magic + len + header + '\n' is a multiple of 64 (numpy's rule).
  size_t total = kMagicSize + 4 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 0xffff) return LimitExceeded("npy header too long");
  std::string out(kMagic, kMagicSize);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(reinterpret_cast<const char*>(tensor.raw_data()), tensor.size_bytes());
  return out;
}

Status WriteNpy(const std::string& path, const Tensor& tensor) {
  RIDGE_ASSIGN_OR_RETURN(std::string bytes, SerializeNpy(tensor));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError("cannot create '" + path + "'");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return IoError("cannot write '" + path + "'");
  return Status::Ok();
}

}  // namespace ridge::runtime
