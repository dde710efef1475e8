// Stand-in for an analytics tag: served only to shoppers who allowed analytics.
document.cookie = "demo_analytics=1; path=/; SameSite=Lax";
window.demoAnalytics = true;
