#include "moe/routing_override.h"

namespace strata::moe {

namespace {
thread_local const RoutingOverride* current = nullptr;
}  // namespace

const RoutingOverride* routing_override() { return current; }

RoutingOverrideGuard::RoutingOverrideGuard(const RoutingOverride* o) : previous_(current) { current = o; }

RoutingOverrideGuard::~RoutingOverrideGuard() { current = previous_; }

}  // namespace strata::moe
