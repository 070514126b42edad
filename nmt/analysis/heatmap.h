#pragma once
// Heat maps as PNG pictures (written with libpng): panels of equal-sized cell grids side by side,
// left to right, a 1-cell white gap between panels; darker blue = larger value, each panel
// scaled to its own maximum (0 white .. maximum dark blue).
//   write_png("routing.png", render_heatmap({layer0_shares, layer1_shares}, 12));
#include <cstdint>
#include <string>
#include <vector>

namespace strata::nmt {

// An 8-bit RGB picture.
struct RgbImage {
  int width = 0;             // pixels per row
  int height = 0;            // rows of pixels
  std::vector<uint8_t> rgb;  // [height][width][3] bytes, row-major
};

// panels[p][r][c] >= 0: the value of cell (row r, column c) of panel p; every panel has the rows
// and columns of the first. Each cell is cell_px × cell_px pixels.
RgbImage render_heatmap(const std::vector<std::vector<std::vector<double>>>& panels, int cell_px);

// Writes `image` as an 8-bit RGB PNG; throws strata::Error naming `path` when it cannot.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace strata::nmt
