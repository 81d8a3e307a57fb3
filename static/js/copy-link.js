/* "Copy link" buttons next to read-only address boxes (certificates' share links).
   Without JavaScript the buttons stay hidden and the box can be selected and copied by hand.
   With it, the button copies through the Clipboard API; where that is missing or refused
   (an insecure page, an old browser), the text is selected so that copying is one keystroke. */
(function () {
  "use strict";

  function say(target, message) {
    var status = document.querySelector('[data-copy-status="' + target + '"]');
    if (status) {
      status.textContent = message;
    }
  }

  function selectText(input) {
    input.focus();
    input.select();
    if (input.setSelectionRange) {
      input.setSelectionRange(0, input.value.length);
    }
  }

  function fallback(input, target) {
    selectText(input);
    var copied = false;
    try {
      copied = document.execCommand && document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    say(target, copied ? "Link copied." : "The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
  }

  function copy(button) {
    var target = button.getAttribute("data-copy-target");
    var input = document.getElementById(target);
    if (!input) {
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () {
        say(target, "Link copied.");
      }, function () {
        fallback(input, target);
      });
    } else {
      fallback(input, target);
    }
  }

  function init() {
    var buttons = document.querySelectorAll("[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        copy(button);
      });
    });
    // A click in the box selects the whole address, so it is never copied half.
    Array.prototype.forEach.call(document.querySelectorAll(".share__input"), function (input) {
      input.addEventListener("focus", function () {
        selectText(input);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
