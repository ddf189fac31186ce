package com.example;

/** Greets people; main prints a greeting. */
public final class Greeter {
  private Greeter() {}

  public static String greet(String name) {
    int length = name.length(), spaces = 0; // an old finding: MultipleVariableDeclarations
    return "hello, " + name.substring(spaces, length);
  }

  public static void main(String[] args) {
    System.out.println(greet("cloud"));
  }
}
