// The marking page's summary, kept up to date as the assessor judges; the page works without it.
//
// The server renders the same figures and sentence for what is saved; this only
// recounts them from the form as it changes.  The rule is the one signing uses:
// competent only when every criterion is satisfactory and all four rules of
// evidence are confirmed.  A comment becomes required when "not yet satisfactory"
// is chosen, so that assistive technology announces it (the form is not blocked by the
// browser: the server refuses a save without it, with its message beside the criterion).
(function () {
  "use strict";

  const form = document.getElementById("marking-form");
  const summary = document.getElementById("marking-summary");
  if (!form || !summary) {
    return;
  }
  const total = Number(summary.dataset.total || "0");

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many);
  }

  function listed(words) {
    const quoted = words.map(function (word) { return "'" + word + "'"; });
    if (quoted.length === 1) {
      return quoted[0];
    }
    return quoted.slice(0, -1).join(", ") + " and " + quoted[quoted.length - 1];
  }

  function set(name, text) {
    const target = document.querySelector('[data-summary="' + name + '"]');
    if (target && target.textContent !== text) {
      target.textContent = text;
    }
  }

  function update() {
    let satisfactory = 0;
    let notYet = 0;
    form.querySelectorAll("fieldset[data-criterion]").forEach(function (fieldset) {
      const chosen = fieldset.querySelector('input[type="radio"]:checked');
      const value = chosen ? chosen.value : "";
      if (value === "satisfactory") {
        satisfactory += 1;
      } else if (value === "not_yet") {
        notYet += 1;
      }
      const comment = document.getElementById("comment-" + fieldset.dataset.criterion);
      if (comment) {
        comment.required = value === "not_yet";
      }
    });
    const rules = Array.from(form.querySelectorAll('input[type="checkbox"][name^="rule-"]'));
    const unconfirmed = rules.filter(function (box) { return !box.checked; })
      .map(function (box) { return box.name.slice(5); });
    const judged = satisfactory + notYet;
    const unjudged = total - judged;
    let sentence;
    if (total > 0 && satisfactory === total && unconfirmed.length === 0) {
      sentence = "Competent: every criterion is satisfactory and all four rules of evidence " +
        "are confirmed.";
    } else {
      const reasons = [];
      if (total === 0) {
        reasons.push("the unit has no criteria to judge");
      }
      if (notYet) {
        reasons.push(plural(notYet, "criterion", "criteria") + " not yet satisfactory");
      }
      if (unjudged) {
        reasons.push(plural(unjudged, "criterion", "criteria") + " not judged yet");
      }
      if (unconfirmed.length) {
        reasons.push((unconfirmed.length === 1 ? "rule " : "rules ") + listed(unconfirmed) +
          " not confirmed");
      }
      sentence = "Not yet competent: " + reasons.join(", ") + ".";
    }
    set("judged", String(judged));
    set("satisfactory", String(satisfactory));
    set("not-yet", String(notYet));
    set("rules", String(rules.length - unconfirmed.length));
    set("sentence", sentence);
  }

  form.addEventListener("change", update);
  update();
}());
