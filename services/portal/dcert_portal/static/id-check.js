/* The identity number checked as it is typed (GB 11643-1999): a progressive enhancement, the
   portal's only script. The form works the same without it; the server checks again. What is
   found is said in the field's live region (its texts come from the page, in its language):
   nothing while the number is still being typed, a wrong character at once, the rest when all
   18 characters are there or the field is left. */
(function () {
  "use strict";
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK_CHARACTERS = "10X98765432";

  function problemOf(value) {
    if (!/^[0-9]{0,17}([0-9X])?$/.test(value)) return "badCharacter";
    if (value.length < 18) return "tooShort";
    var year = +value.slice(6, 10), month = +value.slice(10, 12), day = +value.slice(12, 14);
    var born = new Date(Date.UTC(year, month - 1, day));
    if (born.getUTCFullYear() !== year || born.getUTCMonth() !== month - 1 ||
        born.getUTCDate() !== day || born.getTime() > Date.now()) return "badBirthDate";
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += (+value.charAt(i)) * WEIGHTS[i];
    if (CHECK_CHARACTERS.charAt(sum % 11) !== value.charAt(17)) return "badCheckCharacter";
    return "ok";
  }

  function check(input, output, leaving) {
    var value = input.value.replace(/\s/g, "").toUpperCase();
    var found = value ? problemOf(value) : null;
    if (found === null || (found === "tooShort" && !leaving)) {
      output.textContent = "";
      output.className = "id-check";
      return;
    }
    var text = output.getAttribute("data-" + found.replace(/[A-Z]/g, function (c) {
      return "-" + c.toLowerCase();
    })) || "";
    output.textContent = text.replace("{count}", String(value.length));
    output.className = "id-check " + (found === "ok" ? "id-check-ok" : "id-check-problem");
  }

  var inputs = document.querySelectorAll("input[data-id-check]");
  Array.prototype.forEach.call(inputs, function (input) {
    var output = document.getElementById(input.getAttribute("data-id-check"));
    if (!output) return;
    input.addEventListener("input", function () { check(input, output, false); });
    input.addEventListener("blur", function () { check(input, output, true); });
  });
})();
