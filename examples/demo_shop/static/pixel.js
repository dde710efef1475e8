// Stand-in for an advertising pixel: served only to shoppers who allowed marketing.
document.cookie = "demo_ads=1; path=/; SameSite=Lax";
window.demoPixel = true;
