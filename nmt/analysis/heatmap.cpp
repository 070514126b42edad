// Heat map rendering and the PNG writer (libpng's simplified API).
#include "nmt/analysis/heatmap.h"

#include <png.h>

#include <algorithm>

#include "nmt/util/error.h"

namespace strata::nmt {

RgbImage render_heatmap(const std::vector<std::vector<std::vector<double>>>& panels, int cell_px) {
  if (panels.empty() || panels[0].empty() || panels[0][0].empty())
    throw Error("heat map: nothing to draw (no panel, row or column)");
  const int n = static_cast<int>(panels.size()), rows = static_cast<int>(panels[0].size()),
            cols = static_cast<int>(panels[0][0].size());
  RgbImage im;
  im.width = cell_px * (n * cols + (n - 1));
  im.height = cell_px * rows;
  im.rgb.assign(static_cast<size_t>(im.width) * im.height * 3, 255);
  for (int p = 0; p < n; ++p) {
    double mx = 0;
    for (const auto& row : panels[p])
      for (double v : row) mx = std::max(mx, v);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const double v = mx > 0 ? panels[p][r][c] / mx : 0;  // 0 white .. 1 dark blue
        const uint8_t R = static_cast<uint8_t>(255 - v * (255 - 8)),
                      G = static_cast<uint8_t>(255 - v * (255 - 48)),
                      B = static_cast<uint8_t>(255 - v * (255 - 107));
        const int x0 = cell_px * (p * (cols + 1) + c), y0 = cell_px * r;
        for (int y = y0; y < y0 + cell_px; ++y)
          for (int x = x0; x < x0 + cell_px; ++x) {
            uint8_t* px = &im.rgb[(static_cast<size_t>(y) * im.width + x) * 3];
            px[0] = R, px[1] = G, px[2] = B;
          }
      }
  }
  return im;
}

void write_png(const std::string& path, const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error(path + ": cannot write an empty or inconsistent " + std::to_string(image.width) +
                "x" + std::to_string(image.height) + " picture");
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.rgb.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw Error(path + ": cannot write the PNG (" + why + ")");
  }
}

}  // namespace strata::nmt
