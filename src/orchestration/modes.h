// The orchestration modes, each driving one RunContext to a result (success, degraded or error).
// Internal to the orchestration library; docs/orchestration.md describes each flow.
#pragma once

#include "orchestration/run_context.h"

namespace isv {

void RunSingle(RunContext& ctx);
void RunCritique(RunContext& ctx, const std::string& critic);
void RunDebate(RunContext& ctx, const std::vector<std::string>& debaters, const std::string& judge);
void RunEnsemble(RunContext& ctx, const std::vector<std::string>& members);
void RunPipeline(RunContext& ctx, const std::vector<StageSpec>& stages);

}  // namespace isv
