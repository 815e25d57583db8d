// Layout, data-movement and shape ops: inference (dynamic dims, bad attributes), cost and
// reference kernels against hand-computed results and naive index formulas.
#include "ops/util_tensor.h"
#include "opsb_test_util.h"

namespace ridge::ops::opsb_test {
namespace {

std::vector<float> Iota(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return v;
}

TEST(Reshape, InferZeroMinusOneAndErrors) {
  auto g = Build("Reshape", {Act(Shape({Dim::Symbolic("N"), 3, 4})), Const(I64({2}, {0, -1}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().shape->ToString(), "Nx12");
  auto bad = Build("Reshape", {Act(Shape({2, 3})), Const(I64({2}, {4, -1}))});
  Status s = Infer(bad);
  EXPECT_NE(s.message().find("cannot infer -1"), std::string::npos) << s.message();
  auto two = Build("Reshape", {Act(Shape({2, 3})), Const(I64({2}, {-1, -1}))});
  EXPECT_NE(Infer(two).message().find("more than one -1"), std::string::npos);
  auto az =
      Build("Reshape", {Act(Shape({0, 3})), Const(I64({2}, {0, 3}))}, {{"allowzero", AInt(1)}});
  ASSERT_TRUE(Infer(az).ok());
  EXPECT_EQ(az.out().shape->ToString(), "0x3");
  auto dyn = Build("Reshape", {Act(Shape({2, 3})), Act(Shape({3}), DType::kInt64)});
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.out().shape->ToString(), "?x?x?");
  EXPECT_DOUBLE_EQ(Cost(g).total_bytes(), 0);  // a view
}

TEST(Reshape, FlattenSqueezeUnsqueeze) {
  auto f = Build("Flatten", {Act(Shape({Dim::Symbolic("N"), 3, 4, 5}))}, {{"axis", AInt(1)}});
  ASSERT_TRUE(Infer(f).ok());
  EXPECT_EQ(f.out().shape->ToString(), "Nx60");
  auto f0 = Build("Flatten", {Act(Shape({2, 3}))}, {{"axis", AInt(0)}});
  ASSERT_TRUE(Infer(f0).ok());
  EXPECT_EQ(f0.out().shape->ToString(), "1x6");
  auto fb = Build("Flatten", {Act(Shape({2, 3}))}, {{"axis", AInt(3)}});
  EXPECT_NE(Infer(fb).message().find("axis"), std::string::npos);
  auto sq = Build("Squeeze", {Act(Shape({1, 3, 1, 5})), Const(I64({1}, {-2}))});
  ASSERT_TRUE(Infer(sq).ok());
  EXPECT_EQ(sq.out().shape->ToString(), "1x3x5");
  auto sqa = Build("Squeeze", {Act(Shape({1, 3, 1, 5}))});
  ASSERT_TRUE(Infer(sqa).ok());
  EXPECT_EQ(sqa.out().shape->ToString(), "3x5");
  auto sqb = Build("Squeeze", {Act(Shape({1, 3})), Const(I64({1}, {1}))});
  EXPECT_NE(Infer(sqb).message().find("cannot squeeze"), std::string::npos);
  auto un = Build("Unsqueeze", {Act(Shape({3, 5}))}, {{"axes", AInts({0, -1})}});
  ASSERT_TRUE(Infer(un).ok());
  EXPECT_EQ(un.out().shape->ToString(), "1x3x5x1");
  auto und = Build("Unsqueeze", {Act(Shape({3})), Const(I64({2}, {1, 1}))});
  EXPECT_NE(Infer(und).message().find("more than once"), std::string::npos);
  auto r = RunRef("Unsqueeze", {F32({2}, {1, 2}), I64({1}, {1})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].dims(), (std::vector<int64_t>{2, 1}));
}

TEST(Transpose, InferCostAndNaiveReference) {
  auto g =
      Build("Transpose", {Act(Shape({Dim::Symbolic("N"), 3, 4}))}, {{"perm", AInts({2, 0, 1})}});
  ASSERT_TRUE(Infer(g, {.batch = 2}).ok());
  EXPECT_EQ(g.out().shape->ToString(), "4x2x3");
  NodeCost c = Cost(g, Precision::kFp16);
  EXPECT_EQ(c.kind, OpKind::kDataMovement);
  EXPECT_DOUBLE_EQ(c.bytes_read, 24 * 2);
  EXPECT_DOUBLE_EQ(c.bytes_written, 24 * 2);
  auto bad = Build("Transpose", {Act(Shape({2, 3}))}, {{"perm", AInts({0, 0})}});
  EXPECT_NE(Infer(bad).message().find("perm"), std::string::npos);
  auto r = RunRef("Transpose", {F32({2, 3, 4}, Iota(24))}, {{"perm", AInts({2, 0, 1})}});
  ASSERT_TRUE(r.ok());
  const float* o = (*r)[0].data<float>();
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(o[k * 6 + i * 3 + j], i * 12 + j * 4 + k);
  auto def = RunRef("Transpose", {F32({2, 3}, Iota(6))});
  EXPECT_EQ(Values<float>((*def)[0]), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(DepthToSpace, ModesAndRoundTrip) {
  // ONNX doc example shape: 1x8x2x3 with blocksize 2 -> 1x2x4x6.
  auto x = F32({1, 8, 2, 3}, Iota(48));
  auto dcr = RunRef("DepthToSpace", {x}, {{"blocksize", AInt(2)}, {"mode", AStr("DCR")}});
  ASSERT_TRUE(dcr.ok());
  ASSERT_EQ((*dcr)[0].dims(), (std::vector<int64_t>{1, 2, 4, 6}));
  // Naive DCR: out[c, h*b+i, w*b+j] = in[(i*b+j)*C' + c, h, w].
  const float* o = (*dcr)[0].data<float>();
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 2; ++i)
        for (int w = 0; w < 3; ++w)
          for (int j = 0; j < 2; ++j)
            EXPECT_EQ(o[c * 24 + (h * 2 + i) * 6 + w * 2 + j],
                      ((i * 2 + j) * 2 + c) * 6 + h * 3 + w);
  auto crd = RunRef("DepthToSpace", {x}, {{"blocksize", AInt(2)}, {"mode", AStr("CRD")}});
  const float* q = (*crd)[0].data<float>();
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 2; ++i)
        for (int w = 0; w < 3; ++w)
          for (int j = 0; j < 2; ++j)
            EXPECT_EQ(q[c * 24 + (h * 2 + i) * 6 + w * 2 + j], (c * 4 + i * 2 + j) * 6 + h * 3 + w);
  // SpaceToDepth inverts DCR DepthToSpace.
  auto back = RunRef("SpaceToDepth", {(*dcr)[0]}, {{"blocksize", AInt(2)}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Values<float>((*back)[0]), Iota(48));
  auto g = Build("DepthToSpace", {Act(Shape({1, 6, 2, 2}))}, {{"blocksize", AInt(2)}});
  EXPECT_NE(Infer(g).message().find("divisible"), std::string::npos);
}

TEST(Concat, InferAndReference) {
  auto g = Build("Concat", {Act(Shape({Dim::Symbolic("N"), 3})), Act(Shape({Dim(), 5}))},
                 {{"axis", AInt(-1)}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().shape->ToString(), "Nx8");
  auto bad = Build("Concat", {Act(Shape({2, 3})), Act(Shape({4, 5}))}, {{"axis", AInt(1)}});
  EXPECT_NE(Infer(bad).message().find("incompatible"), std::string::npos);
  auto noaxis = Build("Concat", {Act(Shape({2, 3}))});
  EXPECT_NE(Infer(noaxis).message().find("axis"), std::string::npos);
  auto r = RunRef("Concat", {F32({2, 1}, {1, 2}), F32({2, 2}, {3, 4, 5, 6})}, {{"axis", AInt(1)}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values<float>((*r)[0]), (std::vector<float>{1, 3, 4, 2, 5, 6}));
}

TEST(Split, SizesFromInputAttributeAndEven) {
  auto g = Build("Split", {Act(Shape({2, 10})), Const(I64({2}, {3, 7}))}, {{"axis", AInt(1)}}, 2);
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out(0).shape->ToString(), "2x3");
  EXPECT_EQ(g.out(1).shape->ToString(), "2x7");
  auto e = Build("Split", {Act(Shape({6}))}, {}, 3);
  ASSERT_TRUE(Infer(e).ok());
  EXPECT_EQ(e.out(2).shape->ToString(), "2");
  auto n = Build("Split", {Act(Shape({7}))}, {{"num_outputs", AInt(3)}}, 3);
  ASSERT_TRUE(Infer(n).ok());
  EXPECT_EQ(n.out(2).shape->ToString(), "1");  // ceil(7/3)=3,3,1
  auto bad = Build("Split", {Act(Shape({7}))}, {}, 2);
  EXPECT_NE(Infer(bad).message().find("evenly"), std::string::npos);
  auto badsum = Build("Split", {Act(Shape({7}))}, {{"split", AInts({3, 3})}}, 2);
  EXPECT_NE(Infer(badsum).message().find("sum"), std::string::npos);
  auto r = RunRef("Split", {F32({5}, Iota(5))}, {{"split", AInts({2, 3})}}, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values<float>((*r)[1]), (std::vector<float>{2, 3, 4}));
}

TEST(Slice, ClampingNegativeStepsIntMax) {
  auto x = F32({10}, Iota(10));
  auto a = RunRef("Slice", {x, I64({1}, {2}), I64({1}, {INT64_MAX})});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[0].num_elements(), 8);
  auto b =
      RunRef("Slice", {x, I64({1}, {-1}), I64({1}, {INT64_MIN}), I64({1}, {0}), I64({1}, {-3})});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Values<float>((*b)[0]), (std::vector<float>{9, 6, 3, 0}));
  auto c = RunRef("Slice", {x, I64({1}, {-3}), I64({1}, {100})});
  EXPECT_EQ(Values<float>((*c)[0]), (std::vector<float>{7, 8, 9}));
  auto d = RunRef("Slice", {x, I64({1}, {5}), I64({1}, {2})});  // empty
  EXPECT_EQ((*d)[0].num_elements(), 0);
  auto m = RunRef("Slice", {F32({3, 4}, Iota(12)), I64({2}, {1, 0}), I64({2}, {3, 4}),
                            I64({2}, {0, 1}), I64({2}, {1, 2})});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Values<float>((*m)[0]), (std::vector<float>{4, 6, 8, 10}));
  auto g = Build("Slice", {Act(Shape({Dim::Symbolic("N"), 10})), Const(I64({1}, {1})),
                           Const(I64({1}, {-1})), Const(I64({1}, {1}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().shape->ToString(), "Nx8");
  auto dyn = Build("Slice", {Act(Shape({4, 10})), Act(Shape({1}), DType::kInt64),
                             Const(I64({1}, {5})), Const(I64({1}, {1}))});
  ASSERT_TRUE(Infer(dyn).ok());
  EXPECT_EQ(dyn.out().shape->ToString(), "4x?");
  auto zero = Build("Slice", {Act(Shape({4})), Const(I64({1}, {0})), Const(I64({1}, {2})),
                              Const(I64({1}, {0})), Const(I64({1}, {0}))});
  EXPECT_NE(Infer(zero).message().find("steps"), std::string::npos);
}

TEST(Gather, NegativeIndicesShapesAndErrors) {
  auto g = Build("Gather", {Act(Shape({5, 4})), Const(I64({2, 3}, {0, 1, 2, 3, 4, -1}))},
                 {{"axis", AInt(0)}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().shape->ToString(), "2x3x4");
  auto r = RunRef("Gather", {F32({2, 3}, Iota(6)), I64({2}, {-1, 0})}, {{"axis", AInt(1)}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values<float>((*r)[0]), (std::vector<float>{2, 0, 5, 3}));
  auto s = RunRef("Gather", {I64({3}, {7, 8, 9}), I64({}, {-2})});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].rank(), 0u);
  EXPECT_EQ(Values<int64_t>((*s)[0])[0], 8);
  auto oob = RunRef("Gather", {F32({3}, {1, 2, 3}), I64({1}, {3})});
  EXPECT_FALSE(oob.ok());
  auto ge = RunRef("GatherElements", {F32({2, 2}, {1, 2, 3, 4}), I64({2, 2}, {0, 0, 1, 0})},
                   {{"axis", AInt(1)}});
  ASSERT_TRUE(ge.ok());
  EXPECT_EQ(Values<float>((*ge)[0]), (std::vector<float>{1, 1, 4, 3}));  // ONNX doc example
}

TEST(TileExpand, InferAndReference) {
  auto t = Build("Tile", {Act(Shape({Dim::Symbolic("N"), 3})), Const(I64({2}, {1, 2}))});
  ASSERT_TRUE(Infer(t).ok());
  EXPECT_EQ(t.out().shape->ToString(), "Nx6");
  auto r = RunRef("Tile", {F32({2}, {1, 2}), I64({1}, {3})});
  EXPECT_EQ(Values<float>((*r)[0]), (std::vector<float>{1, 2, 1, 2, 1, 2}));
  auto e = Build("Expand", {Act(Shape({3, 1})), Const(I64({3}, {2, 1, 6}))});
  ASSERT_TRUE(Infer(e).ok());
  EXPECT_EQ(e.out().shape->ToString(), "2x3x6");
  auto bad = Build("Expand", {Act(Shape({3})), Const(I64({1}, {4}))});
  EXPECT_NE(Infer(bad).message().find("broadcast"), std::string::npos);
  auto x = RunRef("Expand", {F32({2, 1}, {1, 2}), I64({2}, {1, 3})});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(Values<float>((*x)[0]), (std::vector<float>{1, 1, 1, 2, 2, 2}));
  NodeCost c = Cost(e);
  EXPECT_DOUBLE_EQ(c.bytes_written, 36 * 4);
  EXPECT_DOUBLE_EQ(c.bytes_read, 3 * 4);
}

TEST(ShapeOps, ShapeSizeConstantRange) {
  auto s = Build("Shape", {Act(Shape({2, 3, 4}))}, {{"start", AInt(-2)}});
  ASSERT_TRUE(Infer(s).ok());
  ASSERT_TRUE(s.out().constant.has_value());  // constant although x's data is not
  EXPECT_EQ(Values<int64_t>(*s.out().constant), (std::vector<int64_t>{3, 4}));
  auto sd = Build("Shape", {Act(Shape({Dim::Symbolic("N"), 3}))});
  ASSERT_TRUE(Infer(sd).ok());
  EXPECT_FALSE(sd.out().constant.has_value());
  EXPECT_EQ(sd.out().shape->ToString(), "2");
  auto sz = Build("Size", {Act(Shape({2, 3, 4}))});
  ASSERT_TRUE(Infer(sz).ok());
  EXPECT_EQ(Values<int64_t>(*sz.out().constant)[0], 24);
  auto c = Build("Constant", {}, {{"value_ints", AInts({1, 2})}});
  ASSERT_TRUE(Infer(c).ok());
  EXPECT_EQ(Values<int64_t>(*c.out().constant), (std::vector<int64_t>{1, 2}));
  auto c2 = Build("Constant", {}, {{"value_int", AInt(1)}, {"value_float", AFloat(1)}});
  EXPECT_NE(Infer(c2).message().find("exactly one"), std::string::npos);
  auto r = RunRef("Range", {I64({}, {10}), I64({}, {1}), I64({}, {-3})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values<int64_t>((*r)[0]), (std::vector<int64_t>{10, 7, 4}));
  auto rf = RunRef("Range", {F32({}, {0}), F32({}, {1}), F32({}, {0.25f})});
  EXPECT_EQ(Values<float>((*rf)[0]), (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
  auto rz = RunRef("Range", {F32({}, {0}), F32({}, {1}), F32({}, {0})});
  EXPECT_FALSE(rz.ok());
  auto g = Build("Range", {Const(I64({}, {0})), Const(I64({}, {5})), Const(I64({}, {2}))});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(Values<int64_t>(*g.out().constant), (std::vector<int64_t>{0, 2, 4}));
}

TEST(ShapeOps, ConstantOfShape) {
  auto g = Build("ConstantOfShape", {Const(I64({2}, {2, 3}))}, {{"value", ATensor(I64({1}, {7}))}});
  ASSERT_TRUE(Infer(g).ok());
  ASSERT_TRUE(g.out().constant.has_value());
  EXPECT_EQ(g.out().dtype, DType::kInt64);
  EXPECT_EQ(Values<int64_t>(*g.out().constant), std::vector<int64_t>(6, 7));
  auto d = Build("ConstantOfShape", {Const(I64({1}, {3}))});
  ASSERT_TRUE(Infer(d).ok());
  EXPECT_EQ(d.out().dtype, DType::kFloat32);
  EXPECT_EQ(Values<float>(*d.out().constant), std::vector<float>(3, 0));
  auto neg = Build("ConstantOfShape", {Const(I64({1}, {-3}))});
  EXPECT_NE(Infer(neg).message().find("negative"), std::string::npos);
  auto huge = RunRef("ConstantOfShape", {I64({2}, {1 << 30, 1 << 30})});
  EXPECT_FALSE(huge.ok());  // refused, not allocated
}

// A shape only known at run time (yolov8n's anchor grid under a dynamic batch) still gives the
// fill value's dtype and the rank, so later ops (Add, Concat) see a typed value.
TEST(ShapeOps, ConstantOfShapeWithRuntimeShape) {
  auto g = Build("ConstantOfShape", {Act(Shape({2}), DType::kInt64)},
                 {{"value", ATensor(I64({1}, {7}))}});
  ASSERT_TRUE(Infer(g).ok());
  EXPECT_EQ(g.out().dtype, DType::kInt64);
  ASSERT_TRUE(g.out().shape.has_value());
  EXPECT_EQ(g.out().shape->rank(), 2u);
  EXPECT_FALSE(g.out().constant.has_value());
  auto wide = Build("ConstantOfShape", {Act(Shape({1000}), DType::kInt64)});
  EXPECT_NE(Infer(wide).message().find("more than 64 dims"), std::string::npos);
}

}  // namespace
}  // namespace ridge::ops::opsb_test
