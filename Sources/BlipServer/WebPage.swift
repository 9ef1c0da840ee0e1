let webPageHTML = "<html></html>"
