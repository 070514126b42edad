// Tests of nmt/analysis/heatmap: panel layout, colours, and the PNG written with libpng.
#include "nmt/analysis/heatmap.h"

#include <gtest/gtest.h>
#include <png.h>

#include "nmt/util/error.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::nmt;

namespace {

std::vector<uint8_t> pixel(const RgbImage& im, int x, int y) {
  const uint8_t* p = &im.rgb[(static_cast<size_t>(y) * im.width + x) * 3];
  return {p[0], p[1], p[2]};
}

}  // namespace

TEST(HeatMapTest, PanelsSideBySideScaledToTheirMaximum) {
  // Two panels of 2 rows × 3 columns, 2 px cells: 2·(2·3 + 1) = 14 px wide, 4 px high.
  const RgbImage im = render_heatmap({{{0, 1, 2}, {4, 0, 0}}, {{0, 0, 0}, {0, 0, 0.5}}}, 2);
  ASSERT_EQ(im.width, 14);
  ASSERT_EQ(im.height, 4);
  ASSERT_EQ(im.rgb.size(), 14u * 4 * 3);
  const std::vector<uint8_t> white = {255, 255, 255}, darkest = {8, 48, 107};
  EXPECT_EQ(pixel(im, 0, 0), white);    // panel 0 (0, 0) = 0
  EXPECT_EQ(pixel(im, 1, 3), darkest);  // panel 0 (1, 0) = 4, its maximum
  EXPECT_EQ(pixel(im, 0, 2), darkest);
  // (0, 2) = 2: half way, truncated as 255 − 0.5·(255 − c).
  EXPECT_EQ(pixel(im, 4, 0), (std::vector<uint8_t>{131, 151, 181}));
  EXPECT_EQ(pixel(im, 6, 1), white);     // the gap
  EXPECT_EQ(pixel(im, 13, 3), darkest);  // panel 1 (1, 2) = 0.5, its own maximum
  EXPECT_EQ(pixel(im, 8, 0), white);
  EXPECT_THROW(render_heatmap({}, 2), Error);
}

TEST(HeatMapTest, WritesAnRgbPngThatReadsBackPixelForPixel) {
  test::TempDir d;
  const RgbImage im = render_heatmap({{{0, 1}, {3, 2}}, {{1, 0}, {0, 0}}}, 3);
  const std::string path = d / "h.png";
  write_png(path, im);
  png_image back{};
  back.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&back, path.c_str())) << back.message;
  EXPECT_EQ(back.format, static_cast<png_uint_32>(PNG_FORMAT_RGB));
  ASSERT_EQ(back.width, static_cast<png_uint_32>(im.width));
  ASSERT_EQ(back.height, static_cast<png_uint_32>(im.height));
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(back));
  ASSERT_TRUE(png_image_finish_read(&back, nullptr, pixels.data(), 0, nullptr)) << back.message;
  EXPECT_EQ(pixels, im.rgb);
  EXPECT_THROW(write_png(d / "no/such/dir/h.png", im), Error);
  EXPECT_THROW(write_png(d / "empty.png", RgbImage{}), Error);
}
