/* reviewpub listening page: chapter links seek the player, and the sentence being read is
   highlighted and kept in view. The timings are the read-aloud EPUB's, embedded in the page
   (nothing is fetched, so the page works from file:// too). Without this script the page is
   plain text with chapter links to the text and download links. */
(function () {
  "use strict";

  var audio = document.getElementById("player");
  var timingsElement = document.getElementById("sentence-timings");
  if (!audio || !timingsElement) {
    return;
  }
  /* [[sentence id, start s, end s], ...] in reading order; the spans tile the audio. */
  var timings = JSON.parse(timingsElement.textContent).sentences;
  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  var chapterLinks = Array.prototype.slice.call(document.querySelectorAll("a[data-start]"));
  var reading = null;
  var currentChapter = null;

  /* The index of the sentence whose span holds time t, or -1 (binary search: reviews are long). */
  function sentenceAt(t) {
    var low = 0;
    var high = timings.length - 1;
    var found = -1;
    while (low <= high) {
      var middle = (low + high) >> 1;
      if (timings[middle][1] <= t) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found >= 0 && t < timings[found][2] ? found : -1;
  }

  function isInView(element) {
    var box = element.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= (window.innerHeight || document.documentElement.clientHeight);
  }

  function showReading() {
    var index = sentenceAt(audio.currentTime);
    var element = index >= 0 ? document.getElementById(timings[index][0]) : null;
    if (element === reading) {
      return;
    }
    if (reading) {
      reading.classList.remove("is-reading");
    }
    reading = element;
    if (reading) {
      reading.classList.add("is-reading");
      if (!isInView(reading)) {
        /* No smooth scrolling for people who asked the system for less motion. */
        reading.scrollIntoView({block: "center", behavior: reducedMotion.matches ? "auto" : "smooth"});
      }
    }
    markChapter();
  }

  function markChapter() {
    var latest = null;
    chapterLinks.forEach(function (link) {
      if (parseFloat(link.getAttribute("data-start")) <= audio.currentTime) {
        latest = link;
      }
    });
    if (latest === currentChapter) {
      return;
    }
    if (currentChapter) {
      currentChapter.removeAttribute("aria-current");
    }
    currentChapter = latest;
    if (currentChapter) {
      currentChapter.setAttribute("aria-current", "true");
    }
  }

  chapterLinks.forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      audio.currentTime = parseFloat(link.getAttribute("data-start"));
      showReading();
    });
  });

  /* timeupdate comes about four times a second; while playing, follow every frame. */
  function follow() {
    showReading();
    if (!audio.paused && !audio.ended) {
      window.requestAnimationFrame(follow);
    }
  }
  audio.addEventListener("play", function () { window.requestAnimationFrame(follow); });
  audio.addEventListener("timeupdate", showReading);
  audio.addEventListener("seeked", showReading);
}());
