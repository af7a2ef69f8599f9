/* The row gather of a shuffled mnist-adam epoch (10,000 x 784 float32, batches of 128
 * random rows, one thread): memcpy per row (the engine's _gather), a plain copy loop,
 * and both with software prefetch of the next rows. Milliseconds per epoch, best and
 * mean of 30 epochs, the variants interleaved.
 *
 *   gcc -O3 -march=native -o gather_probe gather_probe.c && ./gather_probe
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
#define N 10000
#define C 784
#define B 128
static void g_memcpy(float*d,const float*s,const long*idx,long rows,long cols){for(long r=0;r<rows;r++)memcpy(d+r*cols,s+idx[r]*cols,cols*sizeof(float));}
static void g_loop(float*d,const float*s,const long*idx,long rows,long cols){
  for(long r=0;r<rows;r++){const float*src=s+idx[r]*cols;float*dst=d+r*cols;
    if(r+1<rows){const char*nx=(const char*)(s+idx[r+1]*cols); for(long o=0;o<cols*4;o+=64)_mm_prefetch(nx+o,_MM_HINT_T0);}
    for(long c=0;c<cols;c++)dst[c]=src[c];}}
static void g_loop_pf4(float*d,const float*s,const long*idx,long rows,long cols){
  for(long r=0;r<rows;r++){const float*src=s+idx[r]*cols;float*dst=d+r*cols;
    if(r+4<rows){const char*nx=(const char*)(s+idx[r+4]*cols); for(long o=0;o<cols*4;o+=64)_mm_prefetch(nx+o,_MM_HINT_T0);}
    if(r==0){for(long q=1;q<4&&q<rows;q++){const char*nx=(const char*)(s+idx[q]*cols); for(long o=0;o<cols*4;o+=64)_mm_prefetch(nx+o,_MM_HINT_T0);}}
    for(long c=0;c<cols;c++)dst[c]=src[c];}}
static void g_loop_nopf(float*d,const float*s,const long*idx,long rows,long cols){
  for(long r=0;r<rows;r++){const float*src=s+idx[r]*cols;float*dst=d+r*cols;
    for(long c=0;c<cols;c++)dst[c]=src[c];}}
static void g_memcpy_pf(float*d,const float*s,const long*idx,long rows,long cols){
  for(long r=0;r<rows;r++){if(r+1<rows){const char*nx=(const char*)(s+idx[r+1]*cols); for(long o=0;o<cols*4;o+=64)_mm_prefetch(nx+o,_MM_HINT_T0);}
    memcpy(d+r*cols,s+idx[r]*cols,cols*sizeof(float));}}
int main(){float*x=aligned_alloc(64,sizeof(float)*N*C);for(long i=0;i<(long)N*C;i++)x[i]=i;
 float*d=aligned_alloc(64,sizeof(float)*B*C);long*idx=malloc(sizeof(long)*N);
 for(long i=0;i<N;i++)idx[i]=i;
 /* big buffer to evict between batches like the rest of a step would */
 void (*f[4])(float*,const float*,const long*,long,long)={g_memcpy,g_loop,g_loop_pf4,g_memcpy_pf};
 const char*name[4]={"memcpy","loop+pf","loop+pf4","memcpy+pf"};
 double best[4]={1e9,1e9,1e9,1e9},tot[4]={0};
 for(int rep=0;rep<30;rep++){
  for(long i=N-1;i>0;i--){long j=rand()%(i+1);long t=idx[i];idx[i]=idx[j];idx[j]=t;}
  for(int k=0;k<4;k++){int kk=(k+rep)%4;double t0=now();
   for(long b=0;b+B<=N;b+=B)f[kk](d,x,idx+b,B,C);
   double t=now()-t0;tot[kk]+=t;if(t<best[kk])best[kk]=t;}
 }
 for(int k=0;k<4;k++)printf("%-10s best %.3f ms/epoch mean %.3f\n",name[k],1e3*best[k],1e3*tot[k]/30);
 return (int)d[5];}
