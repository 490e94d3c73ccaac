from django.urls import path

from cookies import views

urlpatterns = [
    path("demo/", views.demo_page, name="demo"),
    path("demo/ads.js", views.demo_ads_script, name="demo-ads-script"),
    path("demo/pixel.gif", views.demo_pixel, name="demo-pixel"),
]
