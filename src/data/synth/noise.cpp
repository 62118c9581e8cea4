#include "data/synth/noise.h"

#include <opencv2/imgproc.hpp>

namespace inferbench::data::synth {

cv::Mat noise_map(cv::Size size, int cells_x, int cells_y, Rng& rng) {
  cv::Mat grid(cells_y + 1, cells_x + 1, CV_32F);
  for (int y = 0; y < grid.rows; ++y) {
    for (int x = 0; x < grid.cols; ++x) grid.at<float>(y, x) = static_cast<float>(rng.uniform());
  }
  cv::Mat out;
  cv::resize(grid, out, size, 0, 0, cv::INTER_CUBIC);
  return out;
}

}  // namespace inferbench::data::synth
