package com.example;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** How cache entries were named before: an old secure-coding finding (MD5), accepted. */
final class Legacy {
  private Legacy() {}

  static byte[] cacheKey(String name) throws NoSuchAlgorithmException {
    return MessageDigest.getInstance("MD5").digest(name.getBytes(StandardCharsets.UTF_8));
  }
}
