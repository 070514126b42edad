#include "moe/hidden_hook.h"

namespace strata::moe {

namespace {
thread_local HiddenHook* current = nullptr;
}  // namespace

HiddenHook* hidden_hook() { return current; }

HiddenHookGuard::HiddenHookGuard(HiddenHook* hook) : previous_(current) { current = hook; }
HiddenHookGuard::~HiddenHookGuard() { current = previous_; }

}  // namespace strata::moe
