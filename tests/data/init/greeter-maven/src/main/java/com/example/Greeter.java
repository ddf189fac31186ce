package com.example;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/** Greets people; main answers HTTP requests on $PORT with a greeting (a Cloud Foundry app). */
public final class Greeter {
  private Greeter() {}

  public static String greet(String name) {
    int length = name.length(), spaces = 0; // an old finding: MultipleVariableDeclarations
    return "hello, " + name.substring(spaces, length);
  }

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
    server.createContext("/", exchange -> {
      byte[] body = greet("cloud").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
  }
}
