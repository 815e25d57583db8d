// Decoding of TensorRT's "Format/Datatype" strings. TensorRT has spelled these two ways: the
// long prose form ("Thirty-two wide channel vectorized row major Int8 format", "Channel major
// FP16 format where channel % 8 == 0") and the short form of newer releases ("Int8 NC/32HW32",
// "FP16 NHWC8", "FP32 NCHW"). Both carry the element type and how far channels are padded.
#include <algorithm>
#include <cctype>
#include <regex>
#include <string>

#include "trt/engine_data.h"

namespace ridge::trt {
namespace {

std::string Lower(const std::string& s) {
  std::string out = s;
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int WordNumber(const std::string& w) {
  static const std::pair<const char*, int> kWords[] = {
      {"two", 2}, {"four", 4}, {"eight", 8}, {"sixteen", 16}, {"thirty-two", 32}};
  for (const auto& [word, n] : kWords)
    if (w == word) return n;
  return 1;
}

bool HasWord(const std::string& s, const char* word) {
  // Token match so "fp16" does not match inside "bf16".
  static const std::regex kToken("[a-z0-9]+");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), kToken); it != std::sregex_iterator();
       ++it)
    if (it->str() == word) return true;
  return false;
}

}  // namespace

TensorFormat ParseFormat(const std::string& text) {
  TensorFormat f;
  // The strings are short; anything long is not a format string and is not scanned.
  if (text.size() > 256) return f;
  const std::string s = Lower(text);
  if (HasWord(s, "fp32") || HasWord(s, "float") || HasWord(s, "float32")) f.elem = ElemType::kFp32;
  if (HasWord(s, "fp16") || HasWord(s, "half")) f.elem = ElemType::kFp16;
  if (HasWord(s, "bf16")) f.elem = ElemType::kBf16;
  if (HasWord(s, "int8")) f.elem = ElemType::kInt8;
  if (HasWord(s, "fp8")) f.elem = ElemType::kFp8;
  if (HasWord(s, "int32")) f.elem = ElemType::kInt32;
  if (HasWord(s, "bool")) f.elem = ElemType::kBool;

  std::smatch m;
  static const std::regex kWide("([a-z-]+) wide channel vectorized");
  static const std::regex kModulo("channel % ([0-9]{1,3}) == 0");
  static const std::regex kShortVec("nc/?([0-9]{1,3})hw([0-9]{1,3})");  // NC/32HW32, NC32HW32
  static const std::regex kHwcN("(?:nhwc|hwc)([0-9]{1,3})");            // NHWC8, HWC16
  static const std::regex kChwN("(?:nchw|chw)([0-9]{1,3})");            // CHW32
  if (std::regex_search(s, m, kWide)) {
    f.channel_multiple = WordNumber(m[1].str());
  } else if (std::regex_search(s, m, kModulo)) {
    f.channel_multiple = std::stoi(m[1].str());
  } else if (std::regex_search(s, m, kShortVec)) {
    f.channel_multiple = std::stoi(m[2].str());
  } else if (std::regex_search(s, m, kHwcN)) {
    f.channel_multiple = std::stoi(m[1].str());
    f.channel_last = true;
  } else if (std::regex_search(s, m, kChwN)) {
    f.channel_multiple = std::stoi(m[1].str());
  }
  if (s.find("channel major") != std::string::npos || s.find("hwc") != std::string::npos)
    f.channel_last = true;
  if (f.channel_multiple < 1 || f.channel_multiple > 128) f.channel_multiple = 1;
  return f;
}

const char* ElemTypeName(ElemType t) {
  switch (t) {
    case ElemType::kFp32:
      return "fp32";
    case ElemType::kFp16:
      return "fp16";
    case ElemType::kBf16:
      return "bf16";
    case ElemType::kInt8:
      return "int8";
    case ElemType::kFp8:
      return "fp8";
    case ElemType::kInt32:
      return "int32";
    case ElemType::kBool:
      return "bool";
    case ElemType::kUnknown:
      break;
  }
  return "?";
}

int ElemBytes(ElemType t) {
  switch (t) {
    case ElemType::kFp32:
    case ElemType::kInt32:
      return 4;
    case ElemType::kFp16:
    case ElemType::kBf16:
      return 2;
    case ElemType::kInt8:
    case ElemType::kFp8:
    case ElemType::kBool:
      return 1;
    case ElemType::kUnknown:
      break;
  }
  return 0;
}

}  // namespace ridge::trt
