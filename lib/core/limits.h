// The limits Kod enforces, in one place: the code that enforces each one uses the constant here,
// and GET /limits reports the same constants (docs/api.md#limits).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kod::limits {

/// API request bodies: at most this many bytes (1 MiB); more is 413 (docs/api.md#conventions).
inline constexpr std::size_t kMaxBodyBytes = std::size_t{1} << 20;

/// Repository names: ^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$ (docs/api.md#repositories).
/// names::IsValidRepoName enforces it; a unit test checks the pattern against that function.
inline constexpr std::size_t kRepoNameMaxLength = 100;
inline constexpr char kRepoNamePattern[] = "^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$";

/// Usernames of collaborators and linked tokens: ^[A-Za-z0-9_-]{1,64}$.
inline constexpr std::size_t kUsernameMaxLength = 64;

/// Secret names: ^[A-Za-z_][A-Za-z0-9_]*$ and at most 128 characters (docs/api.md#secrets).
inline constexpr std::size_t kSecretNameMaxLength = 128;
inline constexpr char kSecretNamePattern[] = "^[A-Za-z_][A-Za-z0-9_]*$";

/// Secret values: at most 65,536 bytes of UTF-8 (docs/api.md#secrets).
inline constexpr std::size_t kMaxSecretBytes = 65536;

/// Secret values shorter than this are stored and injected but never masked in step output
/// (masking `e` would mangle every log); PUT answers them with "masked": false.
inline constexpr std::size_t kMinMaskedSecretBytes = 4;

/// Token names: 1 to 100 characters (Unicode code points) (docs/api.md#tokens).
inline constexpr std::size_t kMaxTokenNameLength = 100;

/// A workflow file's `timeout` when it sets none, in seconds (docs/workflows.md).
inline constexpr int kWorkflowTimeoutDefaultS = 300;

/// Output kept per step: 1 MiB, head and tail with a marker (docs/workflows.md).
inline constexpr std::size_t kMaxStepOutputBytes = std::size_t{1} << 20;

/// A run's JSON stays under 8 MiB whatever its steps print: past that its steps' outputs are
/// cut (keeping their ends, "outputTruncated": true), control bytes counted as their escapes.
inline constexpr std::size_t kMaxRunJsonBytes = std::size_t{8} << 20;

/// Run lists carry each step's output cut to its last 4 KiB ("outputTruncated": true where cut),
/// and all of a list's outputs together stay under kMaxRunJsonBytes too.
inline constexpr std::size_t kRunListOutputTailBytes = 4096;

/// GET /repos/:name/workflows/:id/logs answers at most this many bytes of log at once (8 MiB);
/// X-Kod-Log-Size tells the client whether to ask again from the next offset.
inline constexpr std::size_t kMaxLogChunkBytes = std::size_t{8} << 20;

/// Pagination: `per_page` is 1..100 (the routes that page enforce it).
inline constexpr int kPerPageMax = 100;

/// A run's branch: at most 255 characters (code points) of UTF-8 (the workflow_runs.branch
/// column). A push of a longer or non-UTF-8 branch name gets no run, and a line saying why.
inline constexpr std::size_t kMaxRunBranchChars = 255;

/// `GET /repos/:name/workflows?limit=`: 1..500, default 50.
inline constexpr int kRunListLimitMax = 500;
inline constexpr int kRunListLimitDefault = 50;

}  // namespace kod::limits
