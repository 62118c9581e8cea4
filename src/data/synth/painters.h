#pragma once
// The painters of the ten fruit classes and of the occluder (internal to synth).
//
// Each draws one object upright on a new Canvas with 1 unit = `unit` pixels,
// lit from `light` (a unit vector in the canvas axes, see Canvas::light), and
// takes every random choice from `rng`: the same rng state, unit and light
// give the same canvas. The apple, orange and kiwi are about 2 units across;
// the canvas holds the whole object with its origin at the object's middle,
// the point the scene rotates it about.
#include <opencv2/core.hpp>

#include "common/rng.h"
#include "data/synth/canvas.h"

namespace inferbench::data::synth {

Canvas make_apple(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_banana(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_avocado(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_cherry(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_kiwi(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_mango(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_orange(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_pineapple(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_strawberry(Rng& rng, double unit, const cv::Vec3d& light);
Canvas make_watermelon(Rng& rng, double unit, const cv::Vec3d& light);

// Something that is not a fruit and hides part of one: a leaf, a bowl rim or
// box edge, a finger, or a blob of some other colour.
Canvas make_occluder(Rng& rng, double unit, const cv::Vec3d& light);

}  // namespace inferbench::data::synth
