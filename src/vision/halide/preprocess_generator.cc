// Halide generator for the CPU preprocessing pipeline (see src/vision/preprocess.h for the
// arithmetic it must reproduce). Compiled ahead of time: src/vision/CMakeLists.txt runs this
// generator once per variant (fp32/fp16 x NCHW/NHWC) for an AVX-512 and an AVX2 target with
// runtime dispatch, and PreprocessHalide (preprocess_halide.cc) calls the resulting functions.
//
// Every float operation is wrapped in strict_float: Halide otherwise lets LLVM contract a*b+c into
// an FMA, which rounds differently from the reference and moves floor(v + 0.5) across an integer
// on a few pixels. With it, the output matches PreprocessReference bit for bit.
#include <vector>

#include "Halide.h"

namespace {

using Halide::Expr;
using Halide::Func;
using Halide::Var;

class Preprocess : public Halide::Generator<Preprocess> {
 public:
  // NCHW output is (x, y, c) with c outermost; NHWC output is (c, x, y) with c innermost.
  GeneratorParam<bool> planar{"planar", true};
  GeneratorParam<Halide::Type> out_type{"out_type", Halide::Float(32)};
  // Lanes of the vectorized x loop: 16 fills an AVX-512 register of floats.
  GeneratorParam<int> vector_width{"vector_width", 16};
  // Point sampling: for sources whose every tap has weight 0 (an odd integer downscale such as
  // 1920 -> 640, or no resize), each output pixel is exactly source pixel (x0, y0), since
  // a + (b - a) * 0 == a and floor(a + 0.5) == a. PreprocessHalide checks the weights with the
  // reference's float formula and then calls this variant, which loads 3 bytes per pixel
  // instead of 12. Bit-identical by construction.
  GeneratorParam<bool> point_sample{"point_sample", false};

  // Interleaved 8-bit source, dims (c, x, y): c has stride 1, x stride 3, y the row stride.
  Input<Halide::Buffer<uint8_t, 3>> input{"input"};
  Input<float> scale_x{"scale_x"}, scale_y{"scale_y"};
  Input<float> offset_x{"offset_x"}, offset_y{"offset_y"};
  Input<int32_t> content_x0{"content_x0"}, content_y0{"content_y0"};
  Input<int32_t> content_x1{"content_x1"}, content_y1{"content_y1"};
  Input<uint8_t> pad_value{"pad_value"};
  Input<bool> swap_channels{"swap_channels"};
  Input<float> mul0{"mul0"}, mul1{"mul1"}, mul2{"mul2"};
  Input<float> add0{"add0"}, add1{"add1"}, add2{"add2"};
  Output<Halide::Buffer<void, 3>> output{"output"};

  void generate() {
    const Expr src_w = input.dim(1).extent(), src_h = input.dim(2).extent();

    // Taps of each axis, computed once per call (out_width + out_height entries).
    Var i("i");
    taps_x_(i) = Taps(i, scale_x, offset_x, src_w);
    taps_y_(i) = Taps(i, scale_y, offset_y, src_h);

    // The 12 source bytes each output pixel (x, y) blends: taps (x0|x1, y0|y1) x 3 channels,
    // k = (row tap * 2 + column tap) * 3 + source channel. A vector load from computed
    // addresses becomes 16 scalar loads plus lane inserts per vector; this stage instead runs
    // scalar over x per output row (plain byte loads and stores), so the blend below reads
    // contiguous bytes. The taps are clamped in Taps; unsafe_promise_clamped tells bounds
    // inference so.
    {
      Expr x0 = unsafe_promise_clamped(taps_x_(x_)[0], 0, src_w - 1);
      Expr x1 = unsafe_promise_clamped(taps_x_(x_)[1], 0, src_w - 1);
      Expr y0 = unsafe_promise_clamped(taps_y_(y_)[0], 0, src_h - 1);
      Expr y1 = unsafe_promise_clamped(taps_y_(y_)[1], 0, src_h - 1);
      std::vector<Expr> bytes;
      for (const Expr& sy : {y0, y1}) {
        for (const Expr& sx : {x0, x1}) {
          for (int c = 0; c < 3; ++c) bytes.push_back(input(c, sx, sy));
        }
      }
      gathered_(x_, y_, k_) = Halide::mux(k_, bytes);
      point_(x_, y_, k_) = input(k_, x0, y0);
    }

    // The bilinear value of source channel sc at output pixel (x, y), rounded like an 8-bit
    // resize: horizontal first, then vertical, as preprocess.cc does.
    auto sample = [&](Expr sc) {
      Expr fx = taps_x_(x_)[2], fy = taps_y_(y_)[2];
      auto tap = [&](int i) { return Halide::cast<float>(gathered_(x_, y_, i * 3 + sc)); };
      Expr a = tap(0), b = tap(1), d = tap(2), e = tap(3);
      Expr top = strict_float(a + (b - a) * fx);
      Expr bottom = strict_float(d + (e - d) * fx);
      return strict_float(Halide::floor(top + (bottom - top) * fy + 0.5f));
    };

    // Pixels outside the content box take the pad value. (PreprocessHalide passes only the
    // content box; the select keeps the pipeline correct for any output window.)
    Expr in_box = x_ >= content_x0 && x_ < content_x1 && y_ >= content_y0 && y_ < content_y1;
    Expr src_c = Halide::select(swap_channels, 2 - c_, c_);
    Expr mul = Halide::mux(c_, {mul0, mul1, mul2});
    Expr add = Halide::mux(c_, {add0, add1, add2});
    Expr v = point_sample ? Halide::cast<float>(point_(x_, y_, src_c)) : sample(src_c);
    Expr content = strict_float(v * mul + add);
    Expr pad = strict_float(Halide::cast<float>(pad_value) * mul + add);
    Expr o = Halide::select(in_box, content, pad);
    if (planar) {
      output(x_, y_, c_) = Halide::cast(out_type, o);
    } else {
      output(c_, x_, y_) = Halide::cast(out_type, o);
    }
  }

  void schedule() {
    const int vw = vector_width;
    taps_x_.compute_root().vectorize(Var(taps_x_.args()[0]), vw, Halide::TailStrategy::GuardWithIf);
    taps_y_.compute_root();

    output.dim(planar ? 2 : 0).set_bounds(0, 3);
    if (!planar) output.dim(0).set_stride(1).dim(1).set_stride(3);
    input.dim(0).set_bounds(0, 3).set_stride(1).dim(1).set_stride(3);

    // Both layouts: loop y, then x vectors, then the three channels unrolled, so one set of
    // taps and one address computation feeds all three planes (or the interleaved store).
    // The swap flag is specialized so the source channel is a constant in each path.
    // Strips of 8 rows are the parallel tasks; SetHalidePreprocessThreads(1) runs them in order
    // on the calling thread. The gather stage is computed per output row.
    Var yo("yo"), yi("yi");
    output.reorder(c_, x_, y_)
        .unroll(c_)
        .split(y_, yo, yi, 8, Halide::TailStrategy::GuardWithIf)
        .parallel(yo);
    (point_sample ? point_ : gathered_).compute_at(output, yi).reorder(k_, x_, y_).unroll(k_);
    // Wide outputs get one vectorized loop nest per swap flag, in which the source channel is a
    // constant; narrow ones (under one vector) share a scalar fallback.
    Expr wide = output.dim(planar ? 0 : 1).extent() >= vw;
    output.specialize(wide && swap_channels).vectorize(x_, vw, Halide::TailStrategy::ShiftInwards);
    output.specialize(wide && !swap_channels).vectorize(x_, vw, Halide::TailStrategy::ShiftInwards);
  }

 private:
  // Source taps for output index o: (lo, hi, weight of hi), exactly as preprocess.cc computes.
  static Halide::Tuple Taps(Expr o, Expr scale, Expr offset, Expr src_size) {
    Expr s = strict_float((Halide::cast<float>(o) + 0.5f - offset) / scale - 0.5f);
    s = Halide::clamp(s, 0.0f, Halide::cast<float>(src_size - 1));
    Expr lo = Halide::cast<int32_t>(Halide::floor(s));
    Expr hi = Halide::min(lo + 1, src_size - 1);
    return {lo, hi, strict_float(s - Halide::cast<float>(lo))};
  }

  Var x_{"x"}, y_{"y"}, c_{"c"}, k_{"k"};
  Func taps_x_{"taps_x"}, taps_y_{"taps_y"}, gathered_{"gathered"}, point_{"point"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(Preprocess, ridge_preprocess)
