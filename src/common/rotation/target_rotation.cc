#include "common/rotation/target_rotation.h"

#include <algorithm>
#include <chrono>

namespace octo {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Target WithPins(const Target& t, std::vector<std::string> pins) { return Target{t.name, t.address, std::move(pins)}; }

class Rotation {
 public:
  Rotation(const TentacleClient& client, TargetStore& targets, const Target& target)
      : c_(client), store_(targets), t_(target) {
    r_.name = target.name;
    r_.address = target.address;
  }

  TargetRotationResult Run() {
    const auto start = std::chrono::steady_clock::now();
    Rotate();
    r_.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return r_;
  }

 private:
  void Fail(const char* step, const Status& st, std::string left) {
    r_.failed_step = step;
    r_.error = st.message();
    r_.left = std::move(left);
  }
  std::string OldOnly() const { return "it presents and is pinned to " + old_ + " as before"; }

  // Step 3 undone: the new pin goes, the staged certificate is discarded.
  std::string UndoStage() {
    if (pinned_new_) {
      PinChanges undo;
      undo.remove = {new_};
      if (!store_.Update(t_.name, undo, std::nullopt).ok()) {
        return "it presents " + old_ + " and is pinned to both " + old_ + " and " + new_;
      }
    }
    (void)AskDiscardCertificate(c_, WithPins(t_, {old_}), CertificateSlot::kStaged, new_);
    return OldOnly();
  }

  void Rotate() {
    // 1. What it presents, and whether an earlier run was cut short.
    auto status = AskCertificateStatus(c_, t_);
    if (!status.ok()) return Fail("status", status.status(), "nothing was changed");
    old_ = status->presented;
    bool switched = false;
    if (status->staged) {
      new_ = status->staged->thumbprint;
    } else if (status->previous && Contains(t_.thumbprints, status->previous->thumbprint) &&
               status->previous->thumbprint != status->presented) {
      // Switched by a run that stopped before it pinned only the new one.
      old_ = status->previous->thumbprint;
      new_ = status->presented;
      switched = true;
    } else {
      // 2. A new certificate, made on the Tentacle.
      auto staged = AskStageCertificate(c_, t_);
      if (!staged.ok()) return Fail("stage", staged.status(), OldOnly());
      new_ = staged->thumbprint;
    }
    r_.old_thumbprint = old_;
    // 3. Both pinned: whichever it presents from here on is accepted.
    std::vector<std::string> both = t_.thumbprints;
    if (!Contains(both, old_)) both.push_back(old_);
    if (!Contains(both, new_)) {
      PinChanges add;
      add.add = {new_};
      auto report = store_.Update(t_.name, add, std::nullopt);
      if (!report.ok()) {
        if (switched) return Fail("pin", report.status(), "it presents " + new_ + ", which is not pinned");
        (void)AskDiscardCertificate(c_, WithPins(t_, {old_}), CertificateSlot::kStaged, new_);
        return Fail("pin", report.status(), OldOnly());
      }
      pinned_new_ = true;
      both.push_back(new_);
    }
    const Target pinned_both = WithPins(t_, both);
    // 4. It presents the new one.
    if (!switched) {
      auto sw = AskSwitchCertificate(c_, pinned_both, new_);
      if (!sw.ok()) {
        // The answer may be lost after the switch was made: ask what it presents.
        auto now = AskCertificateStatus(c_, pinned_both);
        if (!now.ok()) {
          return Fail("switch", sw.status(),
                      "it is pinned to both " + old_ + " and " + new_ + " (it could not be asked which it presents)");
        }
        if (now->presented != new_) return Fail("switch", sw.status(), UndoStage());
      }
    }
    // 5. A check that accepts only the new one.
    HealthCheckOptions check_options = c_.options;
    TentacleClient checker = c_;
    checker.options = check_options;
    const HealthResult check = CheckTargetWith(checker, WithPins(t_, {new_}));
    if (!check.healthy) {
      auto back = AskSwitchCertificate(c_, pinned_both, old_);
      if (!back.ok()) {
        return Fail("check", Unavailable(check.reason),
                    "it is pinned to both " + old_ + " and " + new_ + " (switching it back failed: " +
                        back.status().message() + ")");
      }
      (void)AskDiscardCertificate(c_, WithPins(t_, {old_}), CertificateSlot::kPrevious, new_);
      std::string left = OldOnly();
      if (pinned_new_ || switched) {
        PinChanges undo;
        undo.remove = {new_};
        if (!store_.Update(t_.name, undo, std::nullopt).ok()) {
          left = "it presents " + old_ + " and is pinned to both " + old_ + " and " + new_;
        }
      }
      return Fail("check", Unavailable(check.reason), left);
    }
    // 6. Only the new one pinned.
    PinChanges only;
    only.replace = std::vector<std::string>{new_};
    auto report = store_.Update(t_.name, only, std::nullopt);
    if (!report.ok()) {
      return Fail("unpin", report.status(), "it presents " + new_ + " and is pinned to both " + old_ + " and " + new_);
    }
    r_.rotated = true;
    r_.new_thumbprint = new_;
    // 7. The old certificate goes from the Tentacle.
    auto discarded = AskDiscardCertificate(c_, WithPins(t_, {new_}), CertificateSlot::kPrevious, old_);
    if (!discarded.ok()) {
      r_.warning = "the Tentacle still keeps the old certificate " + old_ + ": " + discarded.status().message();
    }
  }

  const TentacleClient& c_;
  TargetStore& store_;
  const Target& t_;
  TargetRotationResult r_;
  std::string old_;
  std::string new_;
  bool pinned_new_ = false;
};

}  // namespace

TargetRotationResult RotateTargetCertificate(const TentacleClient& client, TargetStore& targets, const Target& target) {
  return Rotation(client, targets, target).Run();
}

}  // namespace octo
